"""Where documents come from: a mongodump folder or a live server, behind one interface (a
`mongodump --archive` file is demultiplexed into a folder first: archive.py; options.py picks
the source the command line names).

Both stream: a dump is read document by document from its `.bson` (or `.bson.gz`) file, a
server through a cursor sorted on `_id`, so memory stays flat whatever the collection's size.
A dump resumes by position (its file order never changes), a server by `_id` (documents added
since the last run are picked up after the last one imported).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import bson
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.errors import BSONError
from pymongo import MongoClient  # tests swap in mongomock's client here, the driver boundary
from pymongo.uri_parser import parse_uri

# DATETIME_AUTO: a date outside Python's range (JavaScript dates reach year 275760) decodes as
# DatetimeMS instead of stopping the run; the conversion then keeps it in the leftovers.
CODEC = CodecOptions(tz_aware=True, datetime_conversion=DatetimeConversion.DATETIME_AUTO)
_LENGTH = struct.Struct("<i")
# MongoDB stores no document over 16 MiB, mongodump copies them as the server sends them, and
# mongorestore refuses a longer length in an archive (archive/parser.go) and in a .bson file
# alike (db/bson_stream.go; only an oplog replay allows more, and the import reads no oplog). So a
# longer length is corruption, and one limit for both means a collection is never accepted as a
# folder and refused as an archive.
MAX_DOCUMENT = 16 * 1024 * 1024
# gzip's magic and its one compression method (deflate).
_GZIP_MAGIC = b"\x1f\x8b\x08"
# A plain BSON file starts so too when its first document is exactly 559,903 bytes long
# (0x00088b1f, whose last byte, 0, reads as gzip's flags): open_maybe_gzip tells them apart.
_GZIP_OR_BSON = _GZIP_MAGIC + b"\x00"
_GZIP_LIKE_LENGTH = 559_903  # those four bytes as a document's length (little-endian)
# What reading a file can raise besides BSON's own errors: an I/O error or a damaged gzip header
# or checksum (gzip.BadGzipFile is an OSError), a cut gzip (EOFError), damaged deflate data.
READ_ERRORS = (OSError, EOFError, zlib.error)
# What decoding bytes that are not BSON can raise.
DECODE_ERRORS = (BSONError, ValueError, OverflowError)


class SourceError(Exception):
    """The source cannot be read (a corrupt file, an unreachable server); says which and where."""

    @classmethod
    def at(
        cls, path: Path, offset: int, expected: str, found: str, *, gzipped: bool = False
    ) -> SourceError:
        """Bytes of a dump's file or an archive that are not what belongs there, named by the
        file and the byte offset (of the uncompressed stream in a gzipped file), the one form
        of every such error: `<path>: at byte <offset>: expected <expected>, found <found>`."""
        where = f"{path}: at byte {offset}"
        if gzipped:
            where = f"{path} (gzip): at byte {offset} of the uncompressed stream"
        return cls(f"{where}: expected {expected}, found {found}")


class BadDocument(Exception):
    """The bytes where a document should start are not one; str() says what they are."""


class Source(Protocol):
    label: str
    resumes_by_id: bool

    def collections(self) -> list[str]: ...

    def identity(self, collection: str) -> str: ...

    def count(self, collection: str) -> int: ...

    def documents(
        self, collection: str, *, position: int = 0, after_id: str = ""
    ) -> Iterator[dict[str, Any]]: ...

    def close(self) -> None:
        """Release what the source holds (an archive's unpacked folder, a server connection);
        the commands call it when the run ends, whatever the outcome."""


class DumpSource:
    """A `mongodump` output folder: `<collection>.bson` or `.bson.gz`, with metadata files."""

    resumes_by_id = False

    def __init__(self, path: str | os.PathLike[str], database: str = "") -> None:
        folder = Path(path).resolve()
        if not folder.is_dir():
            raise SourceError(
                f"{folder}: no such folder or file (give the mongodump output folder, or the"
                " file mongodump --archive wrote; standard input is not read)"
            )
        self.folder = self._database_folder(folder, database)
        self.label = f"dump {self.folder}"
        self._files = self._files_in(self.folder)

    def _database_folder(self, folder: Path, database: str) -> Path:
        """The folder of .bson files to read. `mongodump --out dump` writes dump/<database>/...:
        dump/ is taken when it holds one database, or the one --database names, as in an
        archive. A database folder given with another --database is refused, not imported
        under a name it does not have."""
        if self._files_in(folder):
            if database and database != folder.name:
                raise SourceError(
                    f"{folder}: holds the .bson files of one database, not of --database "
                    f"{database} (--database picks one of the database folders in a mongodump "
                    "--out folder: give that folder, or leave --database out)"
                )
            return folder
        databases = sorted(
            (sub for sub in folder.iterdir() if sub.is_dir() and self._files_in(sub)),
            key=lambda sub: sub.name,
        )
        names = ", ".join(sub.name for sub in databases) or "none"
        if database:
            if (folder / database) not in databases:
                raise SourceError(f"{folder}: no database folder {database} (it holds: {names})")
            return folder / database
        if len(databases) != 1:
            raise SourceError(
                f"{folder}: no .bson files, and {len(databases)} database folders of them "
                f"({names}): give one, or name it with --database"
            )
        return databases[0]

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

    def close(self) -> None:
        """Nothing to release: every file is closed once read."""

    def documents(
        self, collection: str, *, position: int = 0, after_id: str = ""
    ) -> Iterator[dict[str, Any]]:
        path = self._files.get(collection)
        for index, data in enumerate(self._raw(collection)):
            if index < position:
                continue  # already imported: skipped without decoding
            try:
                yield bson.decode(data, CODEC)
            except DECODE_ERRORS as error:
                raise SourceError(
                    f"{path}: document {index + 1} is not valid BSON ({error})"
                ) from error

    def _raw(self, collection: str) -> Iterator[bytes]:
        """The collection's documents as bytes, in file order."""
        path = self._files.get(collection)
        if path is None:
            return
        try:
            stream, gzipped = open_maybe_gzip(path)
            with stream:
                offset = 0
                while data := read_document(stream):
                    offset += len(data)
                    yield data
        except BadDocument as error:
            raise SourceError.at(path, offset, "a document", str(error), gzipped=gzipped) from None
        except READ_ERRORS as error:
            raise SourceError(f"{path}: cannot be read ({error})") from error


def open_maybe_gzip(path: Path) -> tuple[BinaryIO, bool]:
    """The file's bytes, gunzipped if they are gzip, and whether they were. Told by the first
    bytes, for a dump's files as for an archive: `mongodump --archive=x --gzip` keeps whatever
    name it is given. OSError if it cannot be opened."""
    with path.open("rb") as probe:
        head = probe.read(4)
        gzipped = head[:3] == _GZIP_MAGIC
        if head == _GZIP_OR_BSON and _starts_with_a_document(probe):
            gzipped = False
    if gzipped:
        return gzip.open(path, "rb"), True
    return path.open("rb", buffering=1 << 20), False


def _starts_with_a_document(probe: BinaryIO) -> bool:
    """Whether the file, which starts with _GZIP_OR_BSON, starts with a whole BSON document of
    the length those bytes read as (_GZIP_LIKE_LENGTH). A gzip's bytes are not one: Go's gzip
    writer (mongodump's) leaves the mtime at 0, which as BSON ends the document at its fifth
    byte, and any other gzip would need a NUL where the document ends (the one byte read
    before decoding) and valid BSON elements all the way to it."""
    probe.seek(_GZIP_LIKE_LENGTH - 1)
    if probe.read(1) != b"\x00":
        return False
    probe.seek(0)
    try:
        bson.decode(probe.read(_GZIP_LIKE_LENGTH), CODEC)
    except DECODE_ERRORS:
        return False
    return True


def read_document(stream: Any, *, terminator: bytes = b"") -> bytes | None:
    """The next BSON document of `stream` (anything with read()) as bytes, checked as mongorestore
    checks it: a length of 5 bytes to MAX_DOCUMENT, all of it there, a final NUL. b"" at the end
    of the stream; None where `terminator` (an archive's block end) stands instead of a length.
    BadDocument, saying what is there instead, on anything else."""
    head = stream.read(4)
    if not head:
        return b""
    if len(head) < 4:
        raise BadDocument(f"the end of the file {len(head)} bytes into a length (cut short?)")
    if head == terminator:
        return None
    (length,) = _LENGTH.unpack(head)
    if not 5 <= length <= MAX_DOCUMENT:
        nor = " nor the terminator" if terminator else ""
        raise BadDocument(
            f"{length}, not a BSON length (5 bytes to 16 MiB){nor} ({head.hex(' ')})"
        )
    body = stream.read(length - 4)
    if len(body) < length - 4:
        into = f"{len(body) + 4} bytes into a {length}-byte document"
        raise BadDocument(f"the end of the file {into} (cut short?)")
    if body[-1] != 0:
        raise BadDocument(f"a {length}-byte document not ending in NUL")
    return head + body


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

    def close(self) -> None:
        self.client.close()
