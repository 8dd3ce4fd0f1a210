from django.contrib import admin
from django.urls import include, path

from config.health import healthz

# Uploaded documents are never served from MEDIA_URL directly: a view checks that the user may
# see the record first (sales workspace issue).
urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("crm.urls")),
]
