"""django-allauth hooks."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Closed by default: admins create or invite users (ACCOUNT_ALLOW_SIGNUP opens it).
        return settings.ACCOUNT_ALLOW_SIGNUP
