from __future__ import annotations

from django.apps import AppConfig


class MigrationsMongoConfig(AppConfig):
    name = "migrations_mongo"
    verbose_name = "MongoDB import"
    default_auto_field = "django.db.models.BigAutoField"
