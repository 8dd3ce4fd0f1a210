"""Attach the audit triggers to every audited table, and keep them attached and current.

Which tables: every model of `tracking.AUDITED_APPS` (less `tracking.NOT_AUDITED_MODELS`),
every model in `tracking.AUDITED_MODELS`,
and the auto-created many-to-many link tables of those models (a watcher added to a deal, a
contact linked to a deal, a group granted to a user are changes people ask about).

Each table gets one generated PL/pgSQL function, `public.audit_log_<table>()`, and four
statement-level triggers calling it (see docs/audit.md for why statement level):
- audit_insert / audit_update / audit_delete: AFTER ... FOR EACH STATEMENT, with transition
  tables (`new_rows`, `old_rows`), so a statement's rows are logged by one INSERT ... SELECT;
- audit_truncate: AFTER TRUNCATE -> audit_log_truncate() (row triggers never see a TRUNCATE).
The function is generated from the table's columns as the database has them: an UPDATE compares
each column with its own type's equality (no JSON round trip) to list the changed columns, and
masks secret columns (tracking.SECRET_COLUMNS) in the SQL itself.

`sync_audit_triggers()` runs in migrations 0002/0003 and after every `migrate` (post_migrate),
so a table or column added by a later migration is covered without anyone remembering to. It
compares before it writes: an unchanged database gets no DDL and takes no locks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from django.apps.registry import Apps
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from audit import tracking

TRIGGER_NAMES = ("audit_insert", "audit_update", "audit_delete", "audit_truncate")
# pg_trigger.tgtype of each trigger: statement level, AFTER, one event (INSERT 4, DELETE 8,
# UPDATE 16, TRUNCATE 32), and its transition tables (old, new).
_EXPECTED = {
    "audit_insert": (4, None, "new_rows"),
    "audit_update": (16, "old_rows", "new_rows"),
    "audit_delete": (8, "old_rows", None),
    "audit_truncate": (32, None, None),
}
# Maintained by touch_updated_at on every real change: never a change by itself.
IGNORED_COLUMN = "updated_at"


@dataclass(frozen=True)
class AuditedTable:
    """One audited table: whose history its rows belong to, and how to key them."""

    table: str
    model_label: str  # "crm.contact"; for a link table, the model declaring the field
    pk_column: str
    key_column: str  # -> audit_event.record_id
    related_column: str = ""  # -> audit_event.related_id (link tables)
    masked: tuple[str, ...] = ()
    link_field: str = ""  # the many-to-many field name, for link tables
    related_label: str = ""  # "crm.contact": the other side's model, for link tables

    @property
    def function(self) -> str:
        name = f"audit_log_{self.table}"
        if len(name) > 63:  # PostgreSQL truncates identifiers at 63 bytes
            digest = hashlib.sha1(self.table.encode(), usedforsecurity=False).hexdigest()[:8]
            name = f"{name[:54]}_{digest}"
        return name


def _audited_models(apps: Apps) -> Iterator[type[Model]]:
    for app_label in tracking.AUDITED_APPS:
        for model in apps.get_app_config(app_label).get_models():
            if model._meta.label not in tracking.NOT_AUDITED_MODELS:
                yield model
    for label in tracking.AUDITED_MODELS:
        try:
            yield apps.get_model(label)
        except LookupError:
            continue  # named ahead of its app being installed


def audited_tables(apps: Apps) -> list[AuditedTable]:
    """Every audited table, from the given app registry (global or historical)."""
    tables = []
    for model in _audited_models(apps):
        opts = model._meta
        if opts.proxy or not opts.managed:
            continue
        tables.append(
            AuditedTable(
                table=opts.db_table,
                model_label=opts.label_lower,
                pk_column=opts.pk.column,
                key_column=opts.pk.column,
                masked=tracking.SECRET_COLUMNS.get(opts.db_table, ()),
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
                    pk_column=through.pk.column,
                    key_column=field.m2m_column_name(),
                    related_column=field.m2m_reverse_name(),
                    masked=tracking.SECRET_COLUMNS.get(through.db_table, ()),
                    link_field=field.name,
                    related_label=field.related_model._meta.label_lower,
                )
            )
    return tables


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def function_body(spec: AuditedTable, columns: list[tuple[str, bool]], quote: callable) -> str:
    """The PL/pgSQL body of the table's audit function. `columns`: (name, is_generated)."""
    stored = [name for name, generated in columns if not generated]
    generated = [name for name, is_generated in columns if is_generated]
    # Matched rows have equal keys; updated_at never counts as a change by itself.
    compared = [name for name in stored if name not in (IGNORED_COLUMN, spec.pk_column)]
    masked = [name for name in spec.masked if name in stored]

    def snapshot(alias: str) -> str:
        expr = f"to_jsonb({alias})"
        if generated:  # derived columns (search_text) are left out
            expr = f"({expr} - ARRAY[{', '.join(_literal(n) for n in generated)}]::text[])"
        for name in masked:  # the secret's presence is kept (null or not), never its value
            expr += (
                f" || jsonb_build_object({_literal(name)}, CASE WHEN {alias}.{quote(name)} "
                f"IS NULL THEN NULL ELSE {_literal(tracking.MASK)} END)"
            )
        return f"({expr})"

    def differs(name: str) -> str:
        return f"o.{quote(name)} IS DISTINCT FROM n.{quote(name)}"

    def old_value(name: str) -> str:
        value = f"o.{quote(name)}"
        if name in masked:
            value = f"CASE WHEN {value} IS NULL THEN NULL ELSE {_literal(tracking.MASK)} END"
        return f"jsonb_build_object({_literal(name)}, {value})"

    key, pk = quote(spec.key_column), quote(spec.pk_column)
    related = f"{{r}}.{quote(spec.related_column)}::text" if spec.related_column else "NULL"
    changed = ", ".join(f"CASE WHEN {differs(c)} THEN {_literal(c)} END" for c in compared)
    previous = (
        " || ".join(
            f"CASE WHEN {differs(c)} THEN {old_value(c)} ELSE '{{}}'::jsonb END" for c in compared
        )
        or "'{}'::jsonb"
    )
    # The generic diff of the rare path: JSON images of both rows, compared key by key.
    # (All SQL here is built from catalog identifiers, quoted, and escaped literals.)
    generic_diff = (
        f"FROM (SELECT n.key, {snapshot('(x.o)')} -> n.key AS old, n.value "  # noqa: S608
        f"FROM jsonb_each(x.snapshot) AS n) AS d "
        f"WHERE d.key <> {_literal(IGNORED_COLUMN)} AND d.value IS DISTINCT FROM d.old"
    )
    table = _literal(spec.table)
    cols = "action, table_name, record_id, related_id, snapshot, user_id, context"
    return f"""
DECLARE
    ctx   jsonb;
    uid   uuid;
    batch text := NULLIF(current_setting('minicrm.audit_bulk', true), '');
BEGIN
    IF batch IS NOT NULL AND public.audit_bulk_is_open(batch) THEN
        RETURN NULL;  -- an opted-out bulk batch: its summary entry stands for these rows
    END IF;
    ctx := public.audit_context();
    uid := (ctx ->> 'user_id')::uuid;
    ctx := ctx - 'user_id';
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.audit_event ({cols})
        SELECT 'insert', {table}, n.{key}::text, {related.format(r="n")}, {snapshot("n")}, uid, ctx
        FROM new_rows AS n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO public.audit_event ({cols})
        SELECT 'delete', {table}, o.{key}::text, {related.format(r="o")}, {snapshot("o")}, uid, ctx
        FROM old_rows AS o;
    ELSE
        -- Rows are paired by primary key; a changed key reads as a delete and an insert.
        -- `known`: the changed columns this function was generated for, compared with their
        -- own types' equality. If none but the rows still differ, the JSON images are diffed:
        -- that finds a column added since, and nothing when only updated_at moved. A row with
        -- no difference left is a no-op: no entry.
        INSERT INTO public.audit_event
            (action, table_name, record_id, related_id, changed_fields, snapshot, old_values,
             user_id, context)
        SELECT x.action, {table}, x.record_id, x.related_id,
               CASE WHEN x.action <> 'update' THEN NULL
                    WHEN x.known <> '{{}}' THEN x.known
                    ELSE (SELECT array_agg(d.key ORDER BY d.key) {generic_diff}) END,
               x.snapshot,
               CASE WHEN x.action <> 'update' THEN NULL
                    WHEN x.known <> '{{}}' THEN x.previous
                    ELSE (SELECT jsonb_object_agg(d.key, d.old) {generic_diff}) END,
               uid, ctx
        FROM (
            SELECT CASE WHEN o.{pk} IS NULL THEN 'insert' WHEN n.{pk} IS NULL THEN 'delete'
                        ELSE 'update' END AS action,
                   COALESCE(n.{key}, o.{key})::text AS record_id,
                   CASE WHEN n.{pk} IS NULL THEN {related.format(r="o")}
                        ELSE {related.format(r="n")} END AS related_id,
                   CASE WHEN n.{pk} IS NULL THEN {snapshot("o")} ELSE {snapshot("n")} END
                       AS snapshot,
                   array_remove(ARRAY[{changed}]::text[], NULL) AS known,
                   {previous} AS previous,
                   o, n
            FROM old_rows AS o FULL JOIN new_rows AS n ON n.{pk} = o.{pk}
            OFFSET 0  -- computes each column above once per row
        ) AS x
        WHERE x.action <> 'update' OR x.known <> '{{}}'
           OR (x.o IS DISTINCT FROM x.n AND EXISTS (SELECT {generic_diff}));
    END IF;
    RETURN NULL;
END
"""  # noqa: S608


def function_sql(spec: AuditedTable, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION public.{spec.function}() RETURNS trigger "
        f"LANGUAGE plpgsql SECURITY DEFINER AS $audit${body}$audit$"
    )


def trigger_sql(spec: AuditedTable, name: str, quote: callable) -> str:
    kind, old, new = _EXPECTED[name]
    event = {4: "INSERT", 8: "DELETE", 16: "UPDATE", 32: "TRUNCATE"}[kind]
    referencing = " ".join(
        f"{side} TABLE AS {alias}" for side, alias in (("OLD", old), ("NEW", new)) if alias
    )
    referencing = f"REFERENCING {referencing} " if referencing else ""
    function = "audit_log_truncate" if name == "audit_truncate" else spec.function
    return (
        f"CREATE TRIGGER {name} AFTER {event} ON {quote(spec.table)} {referencing}"
        f"FOR EACH STATEMENT EXECUTE FUNCTION public.{function}()"
    )


CATALOG_SQL = """
SELECT c.relname, a.attname, a.attgenerated <> ''
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relname = ANY(%s) AND c.relnamespace = 'public'::regnamespace
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""
TRIGGERS_SQL = """
SELECT c.relname, t.tgname, t.tgtype, t.tgoldtable, t.tgnewtable, p.proname, t.tgenabled
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
WHERE c.relname = ANY(%s) AND c.relnamespace = 'public'::regnamespace
  AND t.tgname = ANY(%s) AND NOT t.tgisinternal
"""
FUNCTIONS_SQL = """
SELECT p.proname, p.prosrc FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace AND p.proname = ANY(%s)
"""


@dataclass
class _State:
    columns: dict[str, list[tuple[str, bool]]]
    triggers: dict[str, dict[str, tuple]]
    functions: dict[str, str]


def _read_state(connection: BaseDatabaseWrapper, specs: list[AuditedTable]) -> _State:
    tables = [s.table for s in specs]
    state = _State({}, {}, {})
    with connection.cursor() as cursor:
        cursor.execute(CATALOG_SQL, [tables])
        for table, column, generated in cursor.fetchall():
            state.columns.setdefault(table, []).append((column, generated))
        cursor.execute(TRIGGERS_SQL, [tables, list(TRIGGER_NAMES)])
        for table, name, kind, old, new, function, enabled in cursor.fetchall():
            state.triggers.setdefault(table, {})[name] = (kind, old, new, function, enabled)
        cursor.execute(FUNCTIONS_SQL, [[s.function for s in specs]])
        state.functions = dict(cursor.fetchall())
    return state


def expected_triggers(spec: AuditedTable) -> dict[str, tuple]:
    """What installed_triggers() reports for a table whose audit triggers are in order."""
    return {
        name: (kind, old, new, "audit_log_truncate" if kind == 32 else spec.function, "O")
        for name, (kind, old, new) in _EXPECTED.items()
    }


def sync_audit_triggers(apps: Apps, connection: BaseDatabaseWrapper) -> list[str]:
    """Create or replace each audited table's function and triggers wherever one is missing,
    disabled or out of date (a column added, a secret listed). Returns the tables it changed."""
    specs = audited_tables(apps)
    state = _read_state(connection, specs)
    quote = connection.ops.quote_name
    changed = []
    with connection.cursor() as cursor:
        for spec in specs:
            if spec.table not in state.columns:
                continue  # not created yet: a later migration's post_migrate covers it
            body = function_body(spec, state.columns[spec.table], quote)
            wanted = expected_triggers(spec)
            have = state.triggers.get(spec.table, {})
            if state.functions.get(spec.function) == body and have == wanted:
                continue
            cursor.execute(function_sql(spec, body))
            for name in TRIGGER_NAMES:
                if have.get(name) != wanted[name]:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {quote(spec.table)}")
                    cursor.execute(trigger_sql(spec, name, quote))
            changed.append(spec.table)
    return changed


def installed_triggers(
    connection: BaseDatabaseWrapper, tables: list[str]
) -> dict[str, dict[str, tuple]]:
    """table -> trigger name -> (tgtype, old table, new table, function, enabled)."""
    with connection.cursor() as cursor:
        cursor.execute(TRIGGERS_SQL, [tables, list(TRIGGER_NAMES)])
        found: dict[str, dict[str, tuple]] = {}
        for table, name, *definition in cursor.fetchall():
            found.setdefault(table, {})[name] = tuple(definition)
    return found


def drop_audit_triggers(apps: Apps, connection: BaseDatabaseWrapper) -> None:
    """Remove the audit triggers and functions from every audited table."""
    quote = connection.ops.quote_name
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for spec in audited_tables(apps):
            if spec.table in existing:
                for name in TRIGGER_NAMES:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {quote(spec.table)}")
            cursor.execute(f"DROP FUNCTION IF EXISTS public.{spec.function}()")
