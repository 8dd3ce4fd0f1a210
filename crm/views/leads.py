"""Lead conversion."""

from __future__ import annotations

from django.urls import path

from crm.views.placeholder import placeholder

urlpatterns = [
    path("leads/<uuid:pk>/convert/", placeholder("Convert lead"), name="lead.convert"),
]
