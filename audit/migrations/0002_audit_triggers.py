"""Attach the audit triggers to every audited table (audit/tracking.py lists them).

Runs with the historical models of this point in the migration graph. Tables created by later
migrations are covered by the same function after every `migrate` (audit.apps post_migrate).
"""

from django.db import migrations

from audit.triggers import drop_audit_triggers, sync_audit_triggers


def attach(apps, schema_editor):
    sync_audit_triggers(apps, schema_editor.connection)


def detach(apps, schema_editor):
    drop_audit_triggers(apps, schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("accounts", "0001_initial"),
        ("crm", "0003_deal_stage_in_pipeline"),
    ]

    operations = [migrations.RunPython(attach, detach)]
