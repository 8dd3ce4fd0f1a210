from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_after_migrate(sender: AppConfig, using: str, apps: Any = None, **kwargs: Any) -> None:
    """After every `migrate`: attach the audit triggers to tables added since migration 0002."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from audit.triggers import sync_audit_triggers

    connection = connections[using]
    applied = MigrationRecorder(connection).applied_migrations()
    if ("audit", "0003_statement_level_triggers") not in applied:
        return  # migrated back below the triggers, or not there yet
    sync_audit_triggers(apps or sender.apps, connection)


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit import commands

        commands.install()
        post_migrate.connect(_sync_after_migrate, sender=self, dispatch_uid="audit_sync_triggers")
