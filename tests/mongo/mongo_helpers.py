"""Helpers shared by the MongoDB import tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import bson

from migrations_mongo.mapping import KIND_TABLES, LINKS


def write_bson(directory: Path, name: str, docs: Iterable[dict[str, Any]]) -> Path:
    """<name>.bson as mongodump writes it: the documents back to back."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.bson"
    with path.open("wb") as out:
        for doc in docs:
            out.write(bson.encode(doc))
    return path


def when(day: int) -> dt.datetime:
    return dt.datetime(2024, 3, day, 9, 30, tzinfo=dt.UTC)


IMPORT_TABLES = [
    *sorted(set(KIND_TABLES.values())),
    "crm_note",
    "crm_taskcomment",
    "crm_pipeline",
    *sorted({link.table for link in LINKS.values()}),
]


def database_snapshot(cursor: Any) -> dict[str, list[str]]:
    """Every imported table and the import's own tables, as sorted JSON rows."""
    tables = {
        # An OAuth-only user's unusable password is random; log and checkpoint times move.
        **{t: "to_jsonb(t) - 'password'" for t in IMPORT_TABLES},
        # Link rows' serial ids depend on the sequence, not on the import.
        **{link.table: "to_jsonb(t) - 'id'" for link in LINKS.values()},
        "migrations_mongo_importissue": "to_jsonb(t) - 'id' - 'created_at'",
        "migrations_mongo_leftover": "to_jsonb(t) - 'id'",
        "migrations_mongo_alias": "to_jsonb(t)",
        "migrations_mongo_collectionstate": "to_jsonb(t) - 'updated_at'",
        "migrations_mongo_pendinglink": "to_jsonb(t) - 'id'",
    }
    out = {}
    for table, expression in tables.items():
        cursor.execute(f"SELECT ({expression})::text FROM {table} t")  # noqa: S608
        out[table] = sorted(row[0] for row in cursor.fetchall())
    return out


def wipe_import(cursor: Any) -> None:
    """Empty every table the import writes (a fresh start for the same database)."""
    tables = [
        *IMPORT_TABLES,
        "migrations_mongo_importissue",
        "migrations_mongo_leftover",
        "migrations_mongo_alias",
        "migrations_mongo_collectionstate",
        "migrations_mongo_pendinglink",
    ]
    # Inside a test's transaction, deferred foreign-key checks must run before a TRUNCATE.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
