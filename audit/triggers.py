"""Attach the audit triggers to every audited table, and keep them attached.

Which tables: every model of `tracking.AUDITED_APPS`, every model in `tracking.AUDITED_MODELS`,
and the auto-created many-to-many link tables of those models (a watcher added to a deal, a
contact linked to a deal, a group granted to a user are changes people ask about).

Each table gets four triggers, all calling the functions of migration 0001:
- audit_insert / audit_update / audit_delete: AFTER ... FOR EACH ROW -> audit_log_row(args);
  audit_update has `WHEN (OLD.* IS DISTINCT FROM NEW.*)`, so a no-op UPDATE never even calls it;
- audit_truncate: AFTER TRUNCATE FOR EACH STATEMENT -> audit_log_truncate().

`sync_audit_triggers()` runs in migration 0002 (with the historical models) and after every
`migrate` (post_migrate, with the migrated state), so a table added by a later crm migration is
covered without anyone remembering to. It compares before it writes: an unchanged database gets
no DDL and takes no locks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps.registry import Apps
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from audit import tracking

ROW_EVENTS = {"audit_insert": "INSERT", "audit_update": "UPDATE", "audit_delete": "DELETE"}
TRIGGER_NAMES = (*ROW_EVENTS, "audit_truncate")


@dataclass(frozen=True)
class AuditedTable:
    """One audited table and the arguments its row triggers pass to audit_log_row()."""

    table: str
    model_label: str  # "crm.contact"; for a link table, the model declaring the field
    key_column: str
    related_column: str = ""
    masked: tuple[str, ...] = ()
    omitted: tuple[str, ...] = ()
    link_field: str = ""  # the many-to-many field name, for link tables
    related_label: str = ""  # "crm.contact": the other side's model, for link tables

    @property
    def trigger_args(self) -> tuple[str, str, str, str]:
        masked, omitted = ",".join(self.masked), ",".join(self.omitted)
        return (self.key_column, self.related_column, masked, omitted)


def _audited_models(apps: Apps) -> Iterator[type[Model]]:
    for app_label in tracking.AUDITED_APPS:
        yield from apps.get_app_config(app_label).get_models()
    for label in tracking.AUDITED_MODELS:
        try:
            yield apps.get_model(label)
        except LookupError:
            continue  # named ahead of its app being installed (allauth.mfa)


def audited_tables(apps: Apps) -> list[AuditedTable]:
    """Every audited table with its trigger arguments, from the given app registry."""
    tables = []
    for model in _audited_models(apps):
        opts = model._meta
        if opts.proxy or not opts.managed:
            continue
        table = opts.db_table
        tables.append(
            AuditedTable(
                table=table,
                model_label=opts.label_lower,
                key_column=opts.pk.column,
                masked=tracking.SECRET_COLUMNS.get(table, ()),
                # Stored generated columns (search_text) are derived: left out of snapshots.
                omitted=tuple(f.column for f in opts.concrete_fields if f.generated),
            )
        )
        for field in opts.local_many_to_many:
            through = field.remote_field.through._meta
            if not through.auto_created:
                continue  # an explicit through model is a model of its app, audited as such
            tables.append(
                AuditedTable(
                    table=through.db_table,
                    model_label=opts.label_lower,
                    key_column=field.m2m_column_name(),
                    related_column=field.m2m_reverse_name(),
                    masked=tracking.SECRET_COLUMNS.get(through.db_table, ()),
                    link_field=field.name,
                    related_label=field.related_model._meta.label_lower,
                )
            )
    return tables


def _trigger_sql(spec: AuditedTable, quote: Any) -> list[str]:
    table = quote(spec.table)
    args = ", ".join("'" + arg.replace("'", "''") + "'" for arg in spec.trigger_args)
    row = f"FOR EACH ROW EXECUTE FUNCTION public.audit_log_row({args})"
    return [
        f"CREATE OR REPLACE TRIGGER audit_insert AFTER INSERT ON {table} {row}",
        f"CREATE OR REPLACE TRIGGER audit_update AFTER UPDATE ON {table} "
        f"FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) "
        f"EXECUTE FUNCTION public.audit_log_row({args})",
        f"CREATE OR REPLACE TRIGGER audit_delete AFTER DELETE ON {table} {row}",
        f"CREATE OR REPLACE TRIGGER audit_truncate AFTER TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION public.audit_log_truncate()",
    ]


INSTALLED_SQL = """
SELECT c.relname, t.tgname, t.tgargs, t.tgenabled
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relname = ANY(%s) AND t.tgname = ANY(%s) AND NOT t.tgisinternal
"""


def installed_triggers(
    connection: BaseDatabaseWrapper, tables: Iterable[str]
) -> dict[str, dict[str, tuple[tuple[str, ...], str]]]:
    """table -> trigger name -> (arguments, enabled flag) of the audit triggers in place."""
    found: dict[str, dict[str, tuple[tuple[str, ...], str]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(INSTALLED_SQL, [list(tables), list(TRIGGER_NAMES)])
        for table, name, raw_args, enabled in cursor.fetchall():
            args = tuple(a.decode() for a in bytes(raw_args).split(b"\x00")[:-1])
            found.setdefault(table, {})[name] = (args, enabled)
    return found


def _existing(apps: Apps, connection: BaseDatabaseWrapper) -> list[AuditedTable]:
    """The audited tables that exist in this database (a later migration may add more)."""
    existing = set(connection.introspection.table_names())
    return [spec for spec in audited_tables(apps) if spec.table in existing]


def sync_audit_triggers(apps: Apps, connection: BaseDatabaseWrapper) -> list[str]:
    """Create or replace the audit triggers wherever one is missing, disabled or outdated.
    Returns the tables it changed."""
    specs = _existing(apps, connection)
    installed = installed_triggers(connection, [s.table for s in specs])
    changed = []
    with connection.cursor() as cursor:
        for spec in specs:
            want = dict.fromkeys(ROW_EVENTS, (spec.trigger_args, "O"))
            want["audit_truncate"] = ((), "O")
            if installed.get(spec.table) == want:
                continue
            for statement in _trigger_sql(spec, connection.ops.quote_name):
                cursor.execute(statement)
            # CREATE OR REPLACE keeps a disabled trigger disabled; an audit trigger is never off.
            enable = ", ".join(f"ENABLE TRIGGER {name}" for name in TRIGGER_NAMES)
            cursor.execute(f"ALTER TABLE {connection.ops.quote_name(spec.table)} {enable}")
            changed.append(spec.table)
    return changed


def drop_audit_triggers(apps: Apps, connection: BaseDatabaseWrapper) -> None:
    """Remove the audit triggers from every audited table (reversing migration 0002)."""
    specs = _existing(apps, connection)
    with connection.cursor() as cursor:
        for spec in specs:
            for name in TRIGGER_NAMES:
                cursor.execute(
                    f"DROP TRIGGER IF EXISTS {name} ON {connection.ops.quote_name(spec.table)}"
                )
