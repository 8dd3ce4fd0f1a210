"""Binary COPY of rows into a table: the fast path of bulk writers (CSV import, Mongo import).

COPY is several times faster than a multi-row INSERT from Django: no SQL text to compile and no
parameters to convert, and PostgreSQL parses nothing. Rows are typed from the table itself (its
pg_attribute), so empty arrays, JSON and NULLs need no guessing. Triggers fire as for INSERT:
the statement-level audit triggers see the rows in their transition table.

COPY goes straight to psycopg, past Django's execute wrappers, so the audit context is pushed
into the transaction first (apply_now) as the wrapper would have done for an INSERT.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models

from audit.context import apply_now

_TYPES: dict[str, dict[str, int]] = {}


def copy_rows(
    cursor: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Binary COPY of `rows` (tuples in `columns` order) into `table`, on a Django cursor."""
    types = _TYPES.get(table)
    if types is None or not set(columns) <= types.keys():
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attnum > 0 AND NOT attisdropped",
            [table],
        )
        types = _TYPES[table] = dict(cursor.fetchall())
    raw = cursor.cursor
    with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([types[c] for c in columns])
        for row in rows:
            copy.write_row(row)


def copy_instances(
    model: type[models.Model], objs: Sequence[models.Model], using: str = DEFAULT_DB_ALIAS
) -> None:
    """Insert unsaved instances (defaults already applied by __init__) with one COPY."""
    if not objs:
        return
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.GeneratedField)]
    columns = [f.column for f in fields]
    apply_now(using)
    with connections[using].cursor() as cursor:
        copy_rows(
            cursor,
            model._meta.db_table,
            columns,
            ([getattr(obj, f.attname) for f in fields] for obj in objs),
        )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using


def copy_update(
    model: type[models.Model],
    objs: Sequence[models.Model],
    attnames: Sequence[str],
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """Write `attnames` of stored instances: COPY the new values into a temporary table, then
    one UPDATE ... FROM it. Django's bulk_update builds a CASE per column over every row (11 s
    for 10,000 contacts in the CSV import's upsert; this takes under half of that). The
    statement-level audit and touch triggers see one UPDATE, as for bulk_update."""
    if not objs or not attnames:
        return
    fields = [model._meta.get_field(name) for name in attnames]
    pk = model._meta.pk
    table, stage = model._meta.db_table, f"{model._meta.db_table}_update"
    columns = [pk.column, *(f.column for f in fields)]
    listed = ", ".join(columns)
    apply_now(using)
    with connections[using].cursor() as cursor:
        # Dropped first: a retry of the same chunk row by row runs again in one transaction.
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        cursor.execute(
            f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {listed} FROM {table} WITH NO DATA"
        )
        copy_rows(
            cursor,
            stage,
            columns,
            (
                [getattr(obj, pk.attname), *(getattr(obj, f.attname) for f in fields)]
                for obj in objs
            ),
        )
        assignments = ", ".join(f"{f.column} = s.{f.column}" for f in fields)
        cursor.execute(
            f"UPDATE {table} t SET {assignments} FROM {stage} s "  # noqa: S608
            f"WHERE t.{pk.column} = s.{pk.column}"
        )
