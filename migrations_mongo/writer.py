"""One batch of documents into PostgreSQL, in one transaction with its checkpoint.

Per batch: references resolved with one query per kind; documents converted; rows COPY'd into a
temporary table and upserted on `legacy_id` (`IS DISTINCT FROM`, so importing an unchanged
document again writes nothing); then the batch's rows of other tables, link claims, leftovers,
log lines and the collection's checkpoint. The audit log gets one `bulk` entry for the batch
(audit/bulk.py). If the database refuses the batch, it is written again one document at a time,
each in a savepoint, so one bad document fails alone and is logged with the database's reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.db import DatabaseError, connection, transaction
from psycopg.types.json import Jsonb

from audit.bulk import audit_bulk_batch
from crm.copy import copy_rows

from . import convert
from .document import Doc, Issue, Resolved, Skip, to_json
from .mapping import KIND_TABLES, Spec

ISSUE_COLUMNS = ("collection", "object_id", "field", "kind", "reason", "value", "created_at")
LINK_COLUMNS = ("link", "left_id", "right_id", "collection", "claimed_by_left")
# What a refused write raises: Django's wrapper, or psycopg's own error from a COPY (which goes
# through the raw cursor, past Django's error translation).
REFUSED = (DatabaseError, psycopg.Error)


@dataclass
class Converted:
    """A converted batch: rows to write, and everything that goes with them."""

    rows: list[tuple[Doc, dict[str, Any]]] = field(default_factory=list)
    issues: list[tuple[str, Issue]] = field(default_factory=list)  # (object_id, issue)
    failed: int = 0
    skipped: int = 0


@dataclass
class BatchResult:
    imported: int = 0
    skipped: int = 0
    failed: int = 0


# Tests set this to stop a batch at a named step ("converted", "rows", "links", "state"), the
# way a kill would: the batch's transaction rolls back and a resumed run must redo it.
Hook = Callable[[str], None]


def _noop(_step: str) -> None:
    return None


def import_batch(
    spec: Spec,
    docs: Sequence[dict[str, Any]],
    *,
    context: dict[str, Any],
    position: int,
    hook: Hook = _noop,
    converted: Converted | None = None,
) -> BatchResult:
    """Import `docs` (the source's next batch, ending at `position`) and move the checkpoint.
    `converted` is the batch already converted (by the pipeline's worker thread)."""
    details = {
        "collection": spec.collection,
        "first_id": str(docs[0]["_id"]),
        "last_id": str(docs[-1]["_id"]),
        "count": len(docs),
    }
    with audit_bulk_batch(description=f"migrate_from_mongo: {spec.collection}", details=details):
        if converted is None:
            converted = convert_batch(spec, docs, resolve(spec, docs), context)
        hook("converted")
        written = _write(spec, converted)
        hook("rows")
        result = BatchResult(
            imported=len(written),
            skipped=converted.skipped,
            failed=converted.failed + len(converted.rows) - len(written),
        )
        _write_links(written)
        hook("links")
        _write_leftovers(spec.collection, written)
        _write_issues(spec.collection, converted.issues)
        _advance(spec.collection, position, details["last_id"], result)
        hook("state")
    return result


def keep_batch(
    spec: Spec, docs: Sequence[dict[str, Any]], *, position: int, keep: bool
) -> BatchResult:
    """A collection with no table: its documents kept whole in the leftovers (or not at all)."""
    result = BatchResult(skipped=len(docs))
    with transaction.atomic():
        if keep:
            _upsert_leftovers(spec.collection, [(str(d["_id"]), to_json(d)) for d in docs])
        _advance(spec.collection, position, str(docs[-1]["_id"]), result)
    return result


# --- reading references -------------------------------------------------------------------


def resolve(spec: Spec, docs: Iterable[dict[str, Any]]) -> Resolved:
    """Every reference the batch holds, resolved with one query per kind: through the target
    table's legacy_id, or an Alias (a merged user, an existing lookup)."""
    wanted: dict[str, set[str]] = {}
    for raw in docs:
        for name, kind in spec.refs.items():
            # An entry that is not an ObjectId is left out (and logged when the document is
            # converted); the field's other entries are still looked up.
            valid, _invalid = convert.split_object_ids(raw.get(name))
            wanted.setdefault(kind, set()).update(valid)
    by_kind: dict[str, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        for kind, ids in wanted.items():
            if not ids:
                continue
            table = KIND_TABLES[kind]
            cursor.execute(
                f"SELECT legacy_id, id FROM {table} WHERE legacy_id = ANY(%s) "  # noqa: S608
                "UNION ALL SELECT object_id, target_id FROM migrations_mongo_alias "
                "WHERE target_table = %s AND object_id = ANY(%s)",
                [list(ids), table, list(ids)],
            )
            by_kind[kind] = dict(cursor.fetchall())
    return Resolved(by_kind)


def convert_batch(
    spec: Spec, docs: Sequence[dict[str, Any]], resolved: Resolved, context: dict[str, Any]
) -> Converted:
    out = Converted()
    assert spec.convert is not None
    for raw in docs:
        doc = Doc(spec.collection, raw, resolved, declared=spec.refs, context=context)
        try:
            row = spec.convert(doc)
        except Skip as skip:
            out.skipped += skip.kind == "skipped"
            out.failed += skip.kind == "failed"
            out.issues.append((doc.oid, Issue(skip.field, skip.kind, skip.reason, to_json(raw))))
            continue
        except Exception as error:
            out.failed += 1
            reason = f"cannot be converted: {type(error).__name__}: {error}"
            out.issues.append((doc.oid, Issue("", "failed", reason, to_json(raw))))
            continue
        out.rows.append((doc, row))
        out.issues.extend((doc.oid, issue) for issue in doc.issues)
    return out


# --- writing ------------------------------------------------------------------------------


def _write(spec: Spec, converted: Converted) -> list[Doc]:
    """Write the rows; the documents whose rows are in (upserted, adopted or aliased)."""
    pairs = _adopt(spec, converted) if spec.adopt_on else converted.rows
    kept = {id(doc) for doc, _ in pairs}
    merged = [doc for doc, _ in converted.rows if id(doc) not in kept]
    try:
        with transaction.atomic():
            _write_rows(spec, pairs)
        return merged + [doc for doc, _ in pairs]
    except REFUSED:
        pass
    # One document at a time, so the one the database refuses fails alone.
    written = list(merged)
    for doc, row in pairs:
        try:
            with transaction.atomic():
                _write_rows(spec, [(doc, row)])
            written.append(doc)
        except REFUSED as error:
            reason = f"refused by the database: {str(error).strip().splitlines()[0]}"
            converted.issues = [(oid, i) for oid, i in converted.issues if oid != doc.oid]
            converted.issues.append((doc.oid, Issue("", "failed", reason, to_json(doc.raw))))
    return written


def _write_rows(spec: Spec, pairs: Sequence[tuple[Doc, dict[str, Any]]]) -> None:
    if not pairs:
        return
    upsert(spec.table, [row for _, row in pairs], insert_only=spec.insert_only)
    for table in spec.extra_tables:
        extra = [row for doc, _ in pairs for row in doc.extra_rows.get(table, [])]
        if extra:
            upsert(table, extra)


def upsert(table: str, rows: Sequence[dict[str, Any]], *, insert_only: Sequence[str] = ()) -> None:
    """Rows keyed on legacy_id (see `_merge`); an existing row keeps its id and the
    `insert_only` columns."""
    columns = list(rows[0])
    values = [[row[c] for c in columns] for row in rows]
    _merge(table, columns, values, conflict=("legacy_id",), keep=("id", *insert_only))


def _merge(
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str],
    keep: Sequence[str] = (),
) -> None:
    """Insert or update `rows` (values in `columns` order) on the unique `conflict` columns.

    None of them in the table yet (a first import): one binary COPY straight into it, without a
    temporary table and conflict checks. Otherwise COPY into a temporary table, then INSERT ...
    ON CONFLICT DO UPDATE only where something differs, so importing an unchanged document again
    writes nothing; `keep` columns of an existing row are left as they are."""
    positions = [columns.index(c) for c in conflict]
    with connection.cursor() as cursor:
        # Each key column against its own values: for a composite key a superset of the rows'
        # keys, so a false "exists" only costs the staged path, never a wrong write.
        matches = " AND ".join(f"{c} = ANY(%s)" for c in conflict)
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {matches})",  # noqa: S608
            [list({row[i] for row in rows}) for i in positions],
        )
        if not cursor.fetchone()[0]:
            copy_rows(cursor, table, columns, rows)
            return
        stage = f"_mongo_stage_{table}"
        column_list = ", ".join(columns)
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS "  # noqa: S608
            f"SELECT {column_list} FROM {table} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {stage}")
        copy_rows(cursor, stage, columns, rows)
        updated = [c for c in columns if c not in (*conflict, *keep)]
        assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in updated)
        mine = ", ".join(f"t.{c}" for c in updated)
        theirs = ", ".join(f"EXCLUDED.{c}" for c in updated)
        cursor.execute(
            f"INSERT INTO {table} AS t ({column_list}) "  # noqa: S608
            f"SELECT {column_list} FROM {stage} "
            f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {assignments} "
            f"WHERE ({mine}) IS DISTINCT FROM ({theirs})"
        )
        if "updated_at" in columns:
            # A changed row whose source updatedAt did not move got statement_timestamp() from
            # the touch_updated_at trigger; the import keeps the source's time, so put it back
            # (an update of updated_at alone, which the trigger leaves as written).
            same_key = " AND ".join(f"t.{c} = s.{c}" for c in conflict)
            cursor.execute(
                f"UPDATE {table} t SET updated_at = s.updated_at FROM {stage} s "  # noqa: S608
                f"WHERE {same_key} AND t.updated_at IS DISTINCT FROM s.updated_at"
            )


def _adopt(spec: Spec, converted: Converted) -> list[tuple[Doc, dict[str, Any]]]:
    """Rows whose `adopt_on` value (case-insensitive) is already taken: by a row of minicrm's
    own, which becomes this document's row; or by another document's row, which this document
    becomes an alias of. Returns the rows still to be written."""
    column, table = spec.adopt_on, spec.table
    scope = f" AND {spec.adopt_scope}" if spec.adopt_scope else ""
    keys = [row[column].lower() for _, row in converted.rows]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT lower({column}), id, legacy_id FROM {table} "  # noqa: S608
            f"WHERE lower({column}) = ANY(%s){scope}",
            [keys],
        )
        existing = {key: (pk, legacy) for key, pk, legacy in cursor.fetchall()}
        cursor.execute(
            "SELECT object_id FROM migrations_mongo_alias WHERE object_id = ANY(%s)",
            [[doc.oid for doc, _ in converted.rows]],
        )
        aliased = {oid for (oid,) in cursor.fetchall()}
        keep, aliases = [], []
        # One wording whichever way the row was found, so a repeated run logs the same lines.
        merged = f"merged into the existing row with the same {column} (case aside), left as is"
        for (doc, row), key in zip(converted.rows, keys, strict=True):
            if doc.oid in aliased:
                # Merged in an earlier run: the row it points at is not this document's to edit.
                converted.issues.append((doc.oid, Issue(column, "warning", merged, row[column])))
                continue
            pk, legacy = existing.get(key, (None, None))
            if pk is None or legacy == doc.oid:
                existing[key] = (row["id"], doc.oid)
                keep.append((doc, row))
                continue
            if legacy is None:
                cursor.execute(
                    f"UPDATE {table} SET legacy_id = %s WHERE id = %s",  # noqa: S608
                    [doc.oid, pk],
                )
                existing[key] = (pk, doc.oid)
            aliases.append((doc.oid, table, pk))
            converted.issues.append((doc.oid, Issue(column, "warning", merged, row[column])))
        if aliases:
            cursor.executemany(
                "INSERT INTO migrations_mongo_alias (object_id, target_table, target_id) "
                "VALUES (%s, %s, %s) ON CONFLICT (object_id) DO NOTHING",
                aliases,
            )
    return keep


def _write_links(docs: Iterable[Doc]) -> None:
    rows = [
        (link, left, right, doc.collection, left == doc.oid)
        for doc in docs
        for link, left, right in doc.links
    ]
    if rows:
        with connection.cursor() as cursor:
            copy_rows(cursor, "migrations_mongo_pendinglink", LINK_COLUMNS, rows)


def _write_leftovers(collection: str, docs: Iterable[Doc]) -> None:
    # Already JSON text: handed to COPY as it is (the identity `dumps`), not parsed and
    # serialised again.
    _upsert_leftovers(
        collection, [(doc.oid, Jsonb(doc.leftovers_json(), dumps=_as_is)) for doc in docs]
    )


def _as_is(text: str) -> str:
    return text


def _upsert_leftovers(collection: str, items: Sequence[tuple[str, dict[str, Any]]]) -> None:
    kept = [(collection, oid, data) for oid, data in items if _present(data)]
    empty = [oid for oid, data in items if not _present(data)]
    if kept:
        _merge(
            "migrations_mongo_leftover",
            ("collection", "object_id", "data"),
            kept,
            conflict=("collection", "object_id"),
        )
    if empty:
        # A document imported again without leftovers (its source was fixed) keeps none.
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM migrations_mongo_leftover WHERE collection = %s "
                "AND object_id = ANY(%s)",
                [collection, empty],
            )


def _present(data: Any) -> bool:
    return bool(data.obj if isinstance(data, Jsonb) else data)


def _write_issues(collection: str, issues: Sequence[tuple[str, Issue]]) -> None:
    if not issues:
        return
    now = dt.datetime.now(dt.UTC)
    rows = [
        (collection, oid, issue.field[:100], issue.kind, issue.reason, issue.value, now)
        for oid, issue in issues
    ]
    with connection.cursor() as cursor:
        copy_rows(cursor, "migrations_mongo_importissue", ISSUE_COLUMNS, rows)


def _advance(collection: str, position: int, last_id: str, result: BatchResult) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE migrations_mongo_collectionstate SET position = %s, last_id = %s, "
            "imported = imported + %s, skipped = skipped + %s, failed = failed + %s, "
            "updated_at = now() WHERE collection = %s",
            [position, last_id, result.imported, result.skipped, result.failed, collection],
        )
