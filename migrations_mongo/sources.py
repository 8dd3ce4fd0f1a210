"""Where documents come from: a mongodump folder or a live server, behind one interface (a
`mongodump --archive` file is demultiplexed into a folder first: archive.py).

Both stream: a dump is read document by document from its `.bson` (or `.bson.gz`) file, a
server through a cursor sorted on `_id`, so memory stays flat whatever the collection's size.
A dump resumes by position (its file order never changes), a server by `_id` (documents added
since the last run are picked up after the last one imported).
"""

from __future__ import annotations

import gzip
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

import bson
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.errors import BSONError
from pymongo import MongoClient  # tests swap in mongomock's client here, the driver boundary
from pymongo.uri_parser import parse_uri

# DATETIME_AUTO: a date outside Python's range (JavaScript dates reach year 275760) decodes as
# DatetimeMS instead of stopping the run; the conversion then keeps it in the leftovers.
if TYPE_CHECKING:
    from django.core.management.base import CommandParser

CODEC = CodecOptions(tz_aware=True, datetime_conversion=DatetimeConversion.DATETIME_AUTO)
_LENGTH = struct.Struct("<i")
# Largest BSON document MongoDB stores (16 MiB) plus slack: a larger length is corruption.
_MAX_DOCUMENT = 48 * 1024 * 1024


class SourceError(Exception):
    """The source cannot be read (a corrupt file, an unreachable server); says which and where."""


class Source(Protocol):
    label: str
    resumes_by_id: bool

    def collections(self) -> list[str]: ...

    def identity(self, collection: str) -> str: ...

    def count(self, collection: str) -> int: ...

    def documents(
        self, collection: str, *, position: int = 0, after_id: str = ""
    ) -> Iterator[dict[str, Any]]: ...


class DumpSource:
    """A `mongodump` output folder: `<collection>.bson` or `.bson.gz`, with metadata files."""

    resumes_by_id = False

    def __init__(self, path: str | os.PathLike[str]) -> None:
        folder = Path(path).resolve()
        if not folder.is_dir():
            raise SourceError(
                f"{folder}: no such folder or file (give the mongodump output folder, or the"
                " file mongodump --archive wrote; standard input is not read)"
            )
        if not self._files_in(folder):
            # `mongodump --out dump` writes dump/<database>/...: accept dump/ when it holds
            # exactly one database.
            databases = [sub for sub in folder.iterdir() if sub.is_dir() and self._files_in(sub)]
            if len(databases) != 1:
                raise SourceError(f"{folder}: no .bson files (nor one database folder of them)")
            folder = databases[0]
        self.folder = folder
        self.label = f"dump {folder}"
        self._files = self._files_in(folder)

    @staticmethod
    def _files_in(folder: Path) -> dict[str, Path]:
        files = {}
        for entry in folder.iterdir():
            for suffix in (".bson.gz", ".bson"):
                if entry.name.endswith(suffix) and entry.is_file():
                    files[entry.name[: -len(suffix)]] = entry
                    break
        return files

    def collections(self) -> list[str]:
        return sorted(self._files)

    def identity(self, collection: str) -> str:
        """The file, its size and its modification time: a dump replaced by another of the
        same size still differs in mtime, and resuming into it would skip the wrong documents."""
        path = self._files.get(collection)
        if path is None:
            return f"{self.folder} (absent)"
        stat = path.stat()
        return f"{path} ({stat.st_size} bytes, mtime_ns {stat.st_mtime_ns})"

    def count(self, collection: str) -> int:
        return sum(1 for _ in self._raw(collection))

    def documents(
        self, collection: str, *, position: int = 0, after_id: str = ""
    ) -> Iterator[dict[str, Any]]:
        path = self._files.get(collection)
        for index, data in enumerate(self._raw(collection)):
            if index < position:
                continue  # already imported: skipped without decoding
            try:
                yield bson.decode(data, CODEC)
            except (BSONError, ValueError, OverflowError) as error:
                raise SourceError(
                    f"{path}: document {index + 1} is not valid BSON ({error})"
                ) from error

    def _raw(self, collection: str) -> Iterator[bytes]:
        path = self._files.get(collection)
        if path is None:
            return
        opener = gzip.open if path.name.endswith(".gz") else open
        try:
            with opener(path, "rb") as stream:
                yield from _split(stream, path)
        except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
            raise SourceError(f"{path}: cannot be read ({error})") from error


def _split(stream: BinaryIO, path: Path) -> Iterator[bytes]:
    """The documents of a BSON file as bytes: each starts with its own int32 length."""
    index = 0
    while True:
        head = stream.read(4)
        if not head:
            return
        index += 1
        if len(head) < 4:
            raise SourceError(f"{path}: truncated in document {index} (file cut short?)")
        (length,) = _LENGTH.unpack(head)
        if length < 5 or length > _MAX_DOCUMENT:
            raise SourceError(f"{path}: document {index} has an impossible length ({length})")
        body = stream.read(length - 4)
        if len(body) < length - 4:
            raise SourceError(f"{path}: truncated in document {index} (file cut short?)")
        yield head + body


class LiveSource:
    """A running MongoDB, read-only, each collection through a cursor sorted on `_id` so that
    batches are stable and a resumed run continues after the last imported `_id`."""

    resumes_by_id = True

    def __init__(self, uri: str, database: str = "") -> None:
        try:
            parsed = parse_uri(uri)
        except Exception as error:  # pymongo raises InvalidURI or ConfigurationError
            raise SourceError(f"--mongo-uri: {error}") from error
        name = database or parsed.get("database") or ""
        if not name:
            raise SourceError("--mongo-uri names no database (mongodb://host/<database>)")
        self.client = MongoClient(
            uri,
            tz_aware=True,
            datetime_conversion="DATETIME_AUTO",
            readPreference="secondaryPreferred",
        )
        self.db = self.client[name]
        hosts = ",".join(f"{host}:{port}" for host, port in parsed.get("nodelist", []))
        # Never the password: this string is stored in the checkpoints and printed.
        self.label = f"mongodb://{hosts}/{name}"

    def collections(self) -> list[str]:
        try:
            return sorted(self.db.list_collection_names())
        except Exception as error:  # any driver error: unreachable, auth
            raise SourceError(f"{self.label}: {error}") from error

    def identity(self, collection: str) -> str:
        return f"{self.label}/{collection}"

    def count(self, collection: str) -> int:
        return self.db[collection].estimated_document_count()

    def documents(
        self, collection: str, *, position: int = 0, after_id: str = ""
    ) -> Iterator[dict[str, Any]]:
        query = {"_id": {"$gt": bson.ObjectId(after_id)}} if after_id else {}
        cursor = self.db[collection].find(query).sort("_id", 1).batch_size(2000)
        try:
            yield from cursor
        finally:
            cursor.close()


def add_source_arguments(parser: CommandParser, *, dump_help: str) -> None:
    """--dump or --mongo-uri (and --database): the source options both commands take."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dump", help=dump_help)
    source.add_argument("--mongo-uri", help="mongodb://user:pass@host/database (read only).")
    parser.add_argument(
        "--database",
        default="",
        help="Database name: with --mongo-uri if the URI names none; with --dump ARCHIVE if "
        "the archive holds several databases.",
    )


def source_from_options(options: dict[str, Any]) -> Source:
    """The source those options name; SourceError if it cannot be opened. --dump is a folder
    (mongodump --out) or a file (mongodump --archive), told apart by what is at the path."""
    if options["dump"]:
        if Path(options["dump"]).is_file():
            # Imported here: the archive reader builds on DumpSource, and on the mapping.
            from .archive import ArchiveSource

            return ArchiveSource(options["dump"], options["database"])
        return DumpSource(options["dump"])
    return LiveSource(options["mongo_uri"], options["database"])
