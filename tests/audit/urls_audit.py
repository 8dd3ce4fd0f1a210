"""URLs for the audit tests: views that write and read, and a throwaway admin site whose
Company admin is the CRM's real one (AuditHistoryAdminMixin via CrmModelAdmin) and whose
Contact admin is a bare ModelAdmin with the mixin and a tiny page size."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST

from accounts.models import User
from audit.admin import AuditEventAdmin, AuditHistoryAdminMixin
from audit.models import AuditEvent
from config import urls as project_urls
from crm.admin.parties import CompanyAdmin
from crm.models import Company, Contact

site = admin.AdminSite(name="audit_test_admin")


class ContactHistoryAdmin(AuditHistoryAdminMixin, admin.ModelAdmin):
    history_page_size = 2


# The CRM's own CompanyAdmin: it gets the history mixin through CrmModelAdmin.
site.register(Company, CompanyAdmin)
site.register(Contact, ContactHistoryAdmin)
site.register(AuditEvent, AuditEventAdmin)


@require_POST
def create_company(request: HttpRequest) -> HttpResponse:
    company = Company.objects.create(name=request.POST["name"])
    return HttpResponse(str(company.pk))


@require_POST
def sign_in_then_create(request: HttpRequest) -> HttpResponse:
    Company.objects.create(name="Before sign-in")
    user = User.objects.get(email=request.POST["email"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    Company.objects.create(name="After sign-in")
    return HttpResponse("ok")


def count_companies(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(Company.objects.count()))


urlpatterns = [
    path("count/", count_companies),
    path("test-admin/", site.urls),
    path("company/", create_company),
    path("sign-in-then-create/", sign_in_then_create),
    *project_urls.urlpatterns,  # admin, allauth: the admin templates link to both
]
