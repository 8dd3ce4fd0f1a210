"""Replace the generic row-level audit triggers of 0002 with statement-level ones.

Measured on contacts (scripts/bench_audit.py, docs/benchmarks.md): the generic FOR EACH ROW
function converted both row versions to JSONB and diffed them key by key for every row, which
cost about half of a bulk update's throughput. Each audited table now gets a generated function
(audit.triggers.function_body) that logs a whole statement with one INSERT ... SELECT over the
transition tables and compares columns with their own types' equality. What is recorded is
unchanged. On a new database 0002 already installs these (it calls the same code); this step
converts databases that applied the first 0002, and drops the generic function.
"""

from django.db import migrations

from audit.triggers import sync_audit_triggers


def attach(apps, schema_editor):
    sync_audit_triggers(apps, schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_audit_triggers")]

    operations = [
        migrations.RunPython(attach, migrations.RunPython.noop),
        migrations.RunSQL(
            "DROP FUNCTION IF EXISTS public.audit_log_row();", migrations.RunSQL.noop
        ),
    ]
