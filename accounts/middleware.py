"""Send admins without two-factor authentication to enrolment (settings.REQUIRE_MFA_FOR_ADMINS)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse


def admin_mfa_missing(user: Any) -> bool:
    """True when the policy requires two-factor for this user and they have not enrolled."""
    return bool(
        settings.REQUIRE_MFA_FOR_ADMINS
        and user.is_authenticated
        and getattr(user, "is_admin", False)
        and not get_mfa_adapter().is_mfa_enabled(user)
    )


class AdminMFARequiredMiddleware:
    """Until an admin has an authenticator, every page but allauth's own answers with a
    redirect to TOTP enrolment. allauth's views stay reachable: enrolment itself, the
    reauthentication it may ask for, sign-out, password change."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        # Cheap checks first: the authenticator query only runs for admins under the policy.
        if not settings.REQUIRE_MFA_FOR_ADMINS or view_func.__module__.startswith("allauth."):
            return None
        if not admin_mfa_missing(request.user):
            return None
        messages.warning(
            request, "Admins must set up two-factor authentication before continuing."
        )
        return HttpResponseRedirect(reverse("mfa_activate_totp"))
