"""Django admin's site: admins only, and no sign-in form of its own.

Signing in always goes through allauth, so its rate limits and two-factor step apply to the
admin too; the admin's own password-change form (which would bypass allauth's rate limit) is
replaced by allauth's.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode


class MinicrmAdminSite(admin.AdminSite):
    site_header = "minicrm admin"
    site_title = "minicrm admin"
    index_title = "Administration"

    def has_permission(self, request: HttpRequest) -> bool:
        # The role is the authority: a manager or sales rep with is_staff set by some path
        # other than the forms (which refuse it) still never gets in.
        user = request.user
        return bool(user.is_active and user.is_staff and getattr(user, "is_admin", False))

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        index_url = reverse("admin:index", current_app=self.name)
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or index_url
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = index_url
        if request.user.is_authenticated:
            if not self.has_permission(request):
                # Signed in as someone who may not use the admin: no second sign-in form here.
                raise PermissionDenied
            return HttpResponseRedirect(next_url)
        login_url = resolve_url("account_login")
        return HttpResponseRedirect(f"{login_url}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")

    def password_change(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        return HttpResponseRedirect(resolve_url("account_change_password"))
