"""The `export` action: a list exported to CSV is recorded in the log (crm/exports.py).

An export writes no row, so no trigger sees it; like the bulk summary, its entry is written by
a SECURITY DEFINER function, `audit_export(table, details)`, because the app's role may not
INSERT into audit_event (docs/audit.md, "Production"). The function takes who and from where
from the transaction's audit context, as the triggers do.

The action check is widened without a long lock: the new constraint is added NOT VALID (a
catalog change, no scan) and validated in its own transaction, which scans the log under a
lock that lets the triggers keep writing. Hence `atomic = False`.
"""

from django.db import migrations, models

OLD_ACTIONS = "'insert', 'update', 'delete', 'truncate', 'bulk', 'prune'"
NEW_ACTIONS = f"{OLD_ACTIONS}, 'export'"


def _check(actions: str) -> str:
    return f"""
ALTER TABLE public.audit_event
    DROP CONSTRAINT audit_event_action_valid,
    ADD CONSTRAINT audit_event_action_valid CHECK (action IN ({actions})) NOT VALID;
"""


VALIDATE_SQL = "ALTER TABLE public.audit_event VALIDATE CONSTRAINT audit_event_action_valid;"

FUNCTION_SQL = """
-- One export (crm/exports.py): `tbl` is the exported model's table, `details` the entity,
-- filter and sort. Who and from where come from the audit context, as for every entry.
CREATE FUNCTION public.audit_export(tbl text, details jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    ctx   jsonb := public.audit_context();
    entry bigint;
BEGIN
    INSERT INTO public.audit_event (action, table_name, snapshot, user_id, context)
    VALUES ('export', tbl, COALESCE(details, '{}'), (ctx ->> 'user_id')::uuid, ctx - 'user_id')
    RETURNING id INTO entry;
    RETURN entry;
END
$$;
"""

DROP_FUNCTION_SQL = "DROP FUNCTION public.audit_export(text, jsonb);"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("audit", "0003_statement_level_triggers")]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("insert", "Created"),
                    ("update", "Changed"),
                    ("delete", "Deleted"),
                    ("truncate", "Table emptied"),
                    ("bulk", "Bulk write"),
                    ("prune", "Pruned"),
                    ("export", "Exported"),
                ],
                max_length=16,
            ),
        ),
        # Going back, the old check validates only while no `export` entry exists (the log is
        # append-only, so in practice: on a database that never exported).
        migrations.RunSQL(_check(NEW_ACTIONS), [_check(OLD_ACTIONS), VALIDATE_SQL]),
        migrations.RunSQL(VALIDATE_SQL, migrations.RunSQL.noop),
        migrations.RunSQL(FUNCTION_SQL, DROP_FUNCTION_SQL),
    ]
