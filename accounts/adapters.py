"""django-allauth hooks."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Closed by default: admins create or invite users (ACCOUNT_ALLOW_SIGNUP opens it).
        return settings.ACCOUNT_ALLOW_SIGNUP


class MFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        # Under REQUIRE_MFA_FOR_ADMINS an admin keeps their authenticator app: removing it
        # would only bounce them back to enrolment. Recovery codes are not a second factor
        # on their own, so they do not count.
        user = authenticator.user
        if (
            settings.REQUIRE_MFA_FOR_ADMINS
            and getattr(user, "is_admin", False)
            and authenticator.type == Authenticator.Type.TOTP
        ):
            return False
        return super().can_delete_authenticator(authenticator)
