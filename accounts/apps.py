from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"


class MinicrmAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with minicrm's site as `admin.site` (Django's documented way to
    replace the default site): every `@admin.register` lands on it unchanged."""

    default = False  # not the `accounts` app's config: listed by path in INSTALLED_APPS
    default_site = "accounts.admin_site.MinicrmAdminSite"
