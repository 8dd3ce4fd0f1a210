"""What the layers share: the importer's own conversion replayed on source documents, the
import's bookkeeping (aliases, log lines, leftovers) read for a batch of ObjectIds, and how a
converted value is compared with what PostgreSQL holds.

Replaying the conversion is what makes the comparison honest: the expected row is computed by
the very code that wrote it (mapping/*.py through `writer.convert_batch`, references resolved
by `writer.resolve`), so a column that differs is a row that changed or was written wrongly,
never a second opinion about how NextCRM values should be converted.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from django.apps import apps
from django.db import connection, models, transaction

from migrations_mongo import writer
from migrations_mongo.document import Doc
from migrations_mongo.mapping import Spec
from migrations_mongo.sources import Source

# Documents per round trip: a few index lookups of this many keys each, as the import does.
BATCH = 2000
NOT_IMPORTED = ("skipped", "failed")


def batches(items: Iterable[Any], size: int = BATCH) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def prepared_context(spec: Spec, source: Source) -> dict[str, Any]:
    """The conversion context the import had (`spec.prepare`). Computed in a transaction that
    is rolled back: prepare may create what the import needs (the NextCRM pipeline) and the
    validator must leave the database as it found it."""
    if spec.prepare is None:
        return {}
    with transaction.atomic():
        context = spec.prepare(source)
        transaction.set_rollback(True)
    return context


@dataclass
class Replayed:
    """A batch converted again: rows of the documents that convert, and for the others the
    kind (skipped, failed) and reason the import must have logged."""

    rows: list[tuple[Doc, dict[str, Any]]]
    not_imported: dict[str, tuple[str, str]]


def replay(spec: Spec, docs: Sequence[dict[str, Any]], context: dict[str, Any]) -> Replayed:
    converted = writer.convert_batch(spec, docs, writer.resolve(spec, docs), context)
    not_imported = {
        oid: (issue.kind, issue.reason)
        for oid, issue in converted.issues
        if issue.kind in NOT_IMPORTED
    }
    return Replayed(converted.rows, not_imported)


# --- the import's bookkeeping, for a batch of ObjectIds -------------------------------------


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def present(table: str, oids: Sequence[str]) -> set[str]:
    """The ObjectIds that are the legacy_id of a row of `table`."""
    rows = _fetch(
        f"SELECT legacy_id FROM {table} WHERE legacy_id = ANY(%s)",  # noqa: S608 (spec names)
        [list(oids)],
    )
    return {oid for (oid,) in rows}


def aliases(oids: Sequence[str]) -> dict[str, tuple[str, Any]]:
    """ObjectId -> (table, row id) for the documents merged into another row."""
    rows = _fetch(
        "SELECT object_id, target_table, target_id FROM migrations_mongo_alias "
        "WHERE object_id = ANY(%s)",
        [list(oids)],
    )
    return {oid: (table, target) for oid, table, target in rows}


def logged(collection: str, oids: Sequence[str]) -> dict[str, dict[str, str]]:
    """ObjectId -> {kind: reason} of the log lines saying a document was not imported."""
    rows = _fetch(
        "SELECT object_id, kind, reason FROM migrations_mongo_importissue "
        "WHERE collection = %s AND object_id = ANY(%s) AND kind = ANY(%s) ORDER BY id",
        [collection, list(oids), list(NOT_IMPORTED)],
    )
    found: dict[str, dict[str, str]] = {}
    for oid, kind, reason in rows:
        found.setdefault(oid, {}).setdefault(kind, reason)
    return found


def leftovers(collection: str, oids: Sequence[str]) -> dict[str, Any]:
    rows = _fetch(
        "SELECT object_id, data FROM migrations_mongo_leftover "
        "WHERE collection = %s AND object_id = ANY(%s)",
        [collection, list(oids)],
    )
    return {oid: parsed(data) for oid, data in rows}


def rows_by_legacy_id(
    table: str, columns: Sequence[str], legacy_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The rows of `table` with these legacy_ids, as {column: value} (a plain SELECT: what is
    stored, with no model code in between)."""
    wanted = list(dict.fromkeys(["legacy_id", *columns]))
    rows = _fetch(
        f"SELECT {', '.join(wanted)} FROM {table} WHERE legacy_id = ANY(%s)",  # noqa: S608
        [list(legacy_ids)],
    )
    return {row[0]: dict(zip(wanted, row, strict=True)) for row in rows}


# --- comparing values -----------------------------------------------------------------------


@cache
def model_of(table: str) -> type[models.Model] | None:
    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table == table:
            return model
    return None


@cache
def fields_of(table: str) -> dict[str, models.Field]:
    """column -> model field of a table (how its values are to be compared and typed)."""
    model = model_of(table)
    if model is None:
        return {}
    return {f.column: f for f in model._meta.concrete_fields if f.column}


def parsed(value: Any) -> Any:
    # Django loads jsonb as text (its JSONField parses it); a plain SELECT gets that text.
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _as_json(value: Any) -> Any:
    """What a converted value becomes once stored as jsonb and read back."""
    return json.loads(json.dumps(value, default=str))


def normalised(table: str, column: str, expected: Any, actual: Any) -> tuple[Any, Any]:
    """Both sides in a form where == means "the same value": JSON parsed, and UUIDs,
    datetimes (instants, whatever their zone) and decimals (1 == 1.00) compare as such."""
    field = fields_of(table).get(column)
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    if isinstance(field, models.JSONField):
        return _as_json(expected), parsed(actual)
    if expected is None or actual is None:
        return expected, actual
    if isinstance(field, models.UUIDField):
        return _coerce(uuid.UUID, expected), _coerce(uuid.UUID, actual)
    if isinstance(field, models.DecimalField):
        return _coerce(Decimal, expected), _coerce(Decimal, actual)
    if isinstance(field, models.DateTimeField):
        return _coerce(_instant, expected), _coerce(_instant, actual)
    return expected, actual


def _coerce(kind: Any, value: Any) -> Any:
    try:
        return kind(str(value))
    except (ValueError, ArithmeticError):
        return value  # left as it is: it then differs from the other side, and is reported


def _instant(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("a naive datetime is no instant")
    return moment.astimezone(dt.UTC)


def same(table: str, column: str, expected: Any, actual: Any) -> bool:
    expected, actual = normalised(table, column, expected, actual)
    return bool(expected == actual)
