"""Helpers shared by the MongoDB import tests."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

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


# --- mongodump --archive files ---------------------------------------------------------------
# Written as mongo-tools' archive package writes them (common/archive: prelude.go's Write,
# multiplexer.go's formatBody and formatEOF), with a CRC-64 of its own: a plain table loop, so the
# reader's folding CRC is checked against an independent implementation by every archive test.

ARCHIVE_MAGIC = (0x8199E26D).to_bytes(4, "little")
TERMINATOR = b"\xff\xff\xff\xff"
_CRC_TABLE = []
for _byte in range(256):
    _crc = _byte
    for _ in range(8):
        _crc = (_crc >> 1) ^ 0xC96C5795D7870F42 if _crc & 1 else _crc >> 1
    _CRC_TABLE.append(_crc)


def crc64_ecma(data: bytes, crc: int = 0) -> int:
    """Go's crc64.Update(crc, crc64.MakeTable(crc64.ECMA), data), byte by byte."""
    crc ^= 0xFFFFFFFFFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF


class ArchiveWriter:
    """The multiplexer: the prelude at once, then write() per document and eof() per namespace;
    a namespace header starts a block whenever the namespace changes, as mongodump does."""

    def __init__(
        self,
        out: BinaryIO,
        namespaces: list[tuple[str, str, str]],
        crc: Callable[[bytes, int], int] = crc64_ecma,
    ) -> None:
        self.out = out
        self.current = ""
        self.crcs: dict[str, int] = {}
        self.crc = crc  # the plain loop takes ~3 s for 16 MiB: a huge document may pass another
        out.write(ARCHIVE_MAGIC)
        header = {
            "concurrent_collections": 4,
            "version": "0.1",
            "server_version": "7.0.14",
            "tool_version": "100.10.0",
        }
        out.write(bson.encode(header))
        for db, collection, metadata in namespaces:
            entry = {"db": db, "collection": collection, "metadata": metadata, "size": 0}
            out.write(bson.encode({**entry, "type": "collection"}))
        out.write(TERMINATOR)

    def write(self, db: str, collection: str, document: bytes) -> None:
        name = f"{db}.{collection}"
        if name != self.current:
            if self.current:
                self.out.write(TERMINATOR)
            self.out.write(
                bson.encode({"db": db, "collection": collection, "EOF": False, "CRC": 0})
            )
            self.current = name
        self.crcs[name] = self.crc(document, self.crcs.get(name, 0))
        self.out.write(document)

    def eof(self, db: str, collection: str, *, crc: int | None = None) -> None:
        name = f"{db}.{collection}"
        if self.current:
            self.out.write(TERMINATOR)
        value = self.crcs.get(name, 0) if crc is None else crc
        signed = value - (1 << 64) if value >> 63 else value  # Go's int64(hash.Sum64())
        header = {"db": db, "collection": collection, "EOF": True, "CRC": bson.Int64(signed)}
        self.out.write(bson.encode(header))
        self.out.write(TERMINATOR)
        self.current = ""


Namespace = tuple[str, str]  # (database, collection)


def write_archive(
    path: Path,
    collections: dict[Namespace, list[bytes]],
    *,
    metadata: dict[Namespace, str] | None = None,
    run: int = 3,
    gz: bool = False,
    crc: Callable[[bytes, int], int] = crc64_ecma,
) -> Path:
    """An archive of those documents (BSON bytes), mongodump-style: namespaces interleaved in
    runs of `run` documents, round robin, each ended (EOF header) after its last document."""
    metadata = metadata or {}
    with path.open("wb") as raw:
        out: BinaryIO = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if gz else raw
        with out:
            writer = ArchiveWriter(
                out, [(db, coll, metadata.get((db, coll), "")) for db, coll in collections], crc
            )
            queues = {name: list(docs) for name, docs in collections.items()}
            # Empty namespaces still get their header: mongodump sends an empty buffer at close.
            for (db, coll), docs in queues.items():
                if not docs:
                    writer.write(db, coll, b"")
                    writer.eof(db, coll)
            queues = {name: docs for name, docs in queues.items() if docs}
            while queues:
                for (db, coll), docs in list(queues.items()):
                    for document in docs[:run]:
                        writer.write(db, coll, document)
                    del docs[:run]
                    if not docs:
                        writer.eof(db, coll)
                        del queues[(db, coll)]
    return path


def folder_to_archive(folder: Path, path: Path, *, database: str = "nextcrm", **kwargs) -> Path:
    """The archive `mongodump --archive` would have written of the database dumped in `folder`
    (by fakedump.generate_dump, say): the same documents and metadata, interleaved."""
    from migrations_mongo.sources import DumpSource

    source = DumpSource(folder)
    collections = {(database, name): list(source._raw(name)) for name in source.collections()}
    metadata = {}
    for _db, name in collections:
        meta = folder / f"{name}.metadata.json"
        if meta.exists():
            metadata[(database, name)] = meta.read_text(encoding="utf-8")
    return write_archive(path, collections, metadata=metadata, **kwargs)


class Crash(Exception):
    """What a crash hook raises, as a kill would stop the import."""


def crash_at(step: str, after: int):
    """A hook that raises the `after`-th time the batch reaches `step`, as a kill would."""
    seen = {"n": 0}

    def hook(name: str) -> None:
        if name == step:
            seen["n"] += 1
            if seen["n"] == after:
                raise Crash(f"{step} #{after}")

    return hook


def import_process(database_url: str, dump: Path, log: Path, **env: str) -> tuple[list, dict]:
    """The `migrate_from_mongo` command line and environment of an import run as its own
    process (to be killed), on `database_url`, which is migrated first."""
    from django.conf import settings

    environ = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **env}
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=environ, check=True, timeout=300)
    command = [*manage, "migrate_from_mongo", "--dump", str(dump), "--batch-size", "50"]
    return [*command, "--quiet", "--error-log", str(log)], environ


def kill_inside_contacts(conn: Any, command: list[str], env: dict[str, str], at: int) -> None:
    """Start `command` (a migrate_from_mongo run) and kill -9 it once its contacts checkpoint
    has passed `at` documents: inside the biggest collection, at no particular batch edge."""
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT position FROM migrations_mongo_collectionstate "
            "WHERE collection = 'crm_Contacts'"
        ).fetchone()
        if row and row[0] >= at:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def wipe() -> None:
    """wipe_import on Django's connection: the import's tables empty for a second run."""
    from django.db import connection

    with connection.cursor() as cursor:
        wipe_import(cursor)
