"""mongodump's single-file `--archive` format: demultiplexed once into a mongodump-style folder,
which `DumpSource` then reads (docs/migrating-from-mongodb.md, "Archives").

Why a folder: the import reads collections in its own dependency order and resumes by position
inside each collection, while an archive interleaves the collections mongodump dumped side by
side. Copying each namespace's documents to its own `<collection>.bson`, in archive order, gives
the files `mongodump --out` would have written, and the same archive always gives the same bytes:
so each run demultiplexes into a fresh temporary folder (removed when the run ends), and the
checkpoints name the archive itself (path, size, mtime), not that folder. A run killed and run
again resumes at the same positions of the same files. Documents are copied through one at a
time, never a collection in memory.

The format, as read from mongo-tools' `common/archive/` (spec.md, archive.go, prelude.go,
parser.go, multiplexer.go, demultiplexer.go):

- the int32 magic number 0x8199e26d, little-endian;
- the prelude, one block: a header document {concurrent_collections, version ("0.1"),
  server_version, tool_version}; one document per namespace {db, collection, metadata (the
  `.metadata.json` text, canonical extended JSON), size, type}; the int32 terminator 0xffffffff;
- then blocks until the end of the stream: a namespace header {db, collection, EOF, CRC}, that
  namespace's documents, a terminator. mongodump starts a block whenever it switches namespace;
  a namespace ends with a block of its own, no documents, whose header has EOF true and CRC the
  CRC-64 (Go's crc64.ECMA) of all the namespace's document bytes in order, as a signed int64;
- every length is 5 bytes to 16 MiB and a document ends with a NUL byte (parser.go checks both;
  so does sources.read_document, which reads a dump's .bson files too);
- `--gzip` with `--archive` gzips the whole stream (recognised by its magic bytes, as a dump's
  files are: sources.open_maybe_gzip).

mongorestore checks the CRC (demultiplexer.go) and so does this reader: it proves that each
collection's documents are the bytes mongodump wrote, a flipped bit inside a value included, so a
damaged archive stops here and never half-way through an import. Documents are therefore copied
without being decoded (decoding was about 45% of the unpacking's time); a damaged one is reported
at its collection's EOF header, with the byte range its documents came from. Only the credential
collections' documents are decoded, for the `_id` that is all of them the folder gets.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO
from urllib.parse import quote

import bson

from .archive_prelude import MB, ROOM, check_room, choose_database, is_copied
from .crc64 import MASK, Crc64
from .mapping import SECRET_COLLECTIONS
from .sources import (
    CODEC,
    DECODE_ERRORS,
    READ_ERRORS,
    BadDocument,
    DumpSource,
    SourceError,
    open_maybe_gzip,
    read_document,
)

MAGIC = struct.pack("<I", 0x8199E26D)
TERMINATOR = b"\xff\xff\xff\xff"
# Collections the import never reads a value of (plaintext credentials, quirk Q12): only their
# _ids reach the folder, so that they are counted and nothing of them lands on disk.
_NEVER_COPIED = frozenset(SECRET_COLLECTIONS)
# Namespaces whose data never comes as such: a view has none, a time series' is under
# system.buckets.<name> (prelude.go). Neither is awaited to its end.
_DATALESS = ("view", "timeseries")
# A progress line per this much of the (uncompressed) stream: a few seconds' reading.
_REPORT_EVERY = 64 * 1024 * 1024
# Progress lines go to a callback with the verbosity each needs (1: the run's, 2: per collection).
Progress = Callable[[str, int], None]


class ArchiveSource(DumpSource):
    """A `mongodump --archive` file (gzipped or not), one database of it, read as a folder."""

    def __init__(
        self, path: str | Path, database: str = "", progress: Progress | None = None
    ) -> None:
        archive = Path(path).resolve()
        try:
            stat = archive.stat()
        except OSError as error:
            raise SourceError(f"{archive}: cannot be read ({error})") from error
        try:
            # Private to its owner (mkdtemp's 0700). Removed by close(), which the commands call
            # in a `finally`; failing that when this source is collected or at exit (with a
            # ResourceWarning). Only a kill leaves it behind.
            self._tmp = tempfile.TemporaryDirectory(
                prefix="minicrm-archive-", ignore_cleanup_errors=True
            )
        except OSError as error:
            raise _write_error(Path(tempfile.gettempdir()), error) from error
        folder = Path(self._tmp.name)
        try:
            self.database, self._counts = demultiplex(archive, folder, database, progress)
            super().__init__(folder)
        except BaseException:
            self._tmp.cleanup()
            raise
        self.archive = archive
        self.label = f"archive {archive} (database {self.database})"
        self._stamp = f"{stat.st_size} bytes, mtime_ns {stat.st_mtime_ns}"

    def identity(self, collection: str) -> str:
        """The archive's path, size and mtime, as for a dump's files: the folder is new in
        every run, the archive is what must not have changed under the checkpoints."""
        return f"{self.archive} ({self._stamp}) {self.database}.{collection}"

    def count(self, collection: str) -> int:
        """Counted while unpacking: no second pass over the file (the progress bar's total)."""
        return self._counts.get(collection, 0)

    def close(self) -> None:
        """Delete the unpacked folder (again: a no-op)."""
        self._tmp.cleanup()


@dataclass
class _Namespace:
    db: str
    collection: str
    type: str = ""
    state: str = "unopened"  # -> "open" at its first header -> "closed" at its EOF header
    out: IO[bytes] | None = None
    crc: Crc64 = field(default_factory=Crc64)
    first: int = -1  # offset of its first document, and the end of its last (for errors)
    end: int = -1
    documents: int = 0

    @property
    def name(self) -> str:
        return f"{self.db}.{self.collection}"


class _Stream:
    """The archive's bytes, read item by item, with the offset every error names."""

    def __init__(self, raw: BinaryIO, path: Path, gzipped: bool) -> None:
        self.raw = raw
        self.offset = 0
        # The file's own position (a gzip's is not the offset), for the progress percentage.
        self.file: BinaryIO = getattr(raw, "fileobj", None) or raw
        self.size = os.fstat(self.file.fileno()).st_size
        # What the stream unpacks to, for the free-space check: 0 where unknown.
        self.unpacked = _gzip_size(self.file, self.size) if gzipped else self.size
        self.progress: Progress | None = None
        self.next_report = _REPORT_EVERY
        self.path = path
        self.gzipped = gzipped

    def error(self, at: int, expected: str, found: str) -> SourceError:
        return SourceError.at(self.path, at, expected, found, gzipped=self.gzipped)

    def read(self, size: int) -> bytes:
        try:
            data = self.raw.read(size)
        except READ_ERRORS as error:  # a damaged or cut gzip stream, mostly
            raise self.error(
                self.offset, "the rest of the file", f"an error reading it ({error})"
            ) from error
        self.offset += len(data)
        return data

    def item(self, expected: str, *, end_ok: bool = False) -> bytes | None:
        """The next document's bytes; None for a terminator; b"" for the end of the stream
        where a block may begin (end_ok)."""
        start = self.offset
        try:
            data = read_document(self, terminator=TERMINATOR)
        except BadDocument as error:
            raise self.error(start, expected, str(error)) from None
        if data == b"" and not end_ok:
            raise self.error(start, expected, "the end of the file (cut short?)")
        return data

    def document(
        self, expected: str, *, end_ok: bool = False
    ) -> tuple[int, dict[str, Any] | None]:
        """The next item, which must be a document, decoded; (offset, None) at an allowed end."""
        start = self.offset
        data = self.item(expected, end_ok=end_ok)
        if data is None:
            raise self.error(start, expected, "a terminator")
        return start, (self.decode(data, start, expected) if data else None)

    def report(self) -> None:
        if self.progress is not None:
            read = min(100, 100 * self.file.tell() // max(self.size, 1))
            self.progress(f"  {read}% read, {self.offset // MB:,} MB unpacked", 1)
        self.next_report = self.offset + _REPORT_EVERY

    def decode(self, data: bytes, start: int, expected: str) -> dict[str, Any]:
        try:
            return bson.decode(data, CODEC)
        except DECODE_ERRORS as error:
            raise self.error(start, expected, f"bytes that are not BSON ({error})") from error


def _gzip_size(file: BinaryIO, size: int) -> int:
    """The uncompressed size a gzip's trailer records (ISIZE, modulo 4 GiB: a lower bound), read
    before the gzip reader starts, which then reads from the start; 0 if it cannot be read or
    is not a size: deflate packs at most 1032 bytes into one, and a gzip cut short ends in
    compressed data, whose last bytes are not a size (the reading will say it is cut)."""
    if size < 18:  # gzip's header and trailer: shorter is damaged, as the reading will say
        return 0
    try:
        file.seek(size - 4)
        isize = int.from_bytes(file.read(4), "little")
        file.seek(0)
    except OSError:
        return 0
    return isize if isize <= 1032 * size else 0


def demultiplex(
    path: Path, folder: Path, database: str = "", progress: Progress | None = None
) -> tuple[str, dict[str, int]]:
    """Copy one database of the archive at `path` into `folder`, mongodump `--out` style; return
    the database's name and the documents of each collection copied (by file name, as
    DumpSource names them). SourceError, naming the byte offset, on anything unexpected."""
    started = time.monotonic()
    try:
        raw, gzipped = open_maybe_gzip(path)
    except OSError as error:
        raise SourceError(f"{path}: cannot be read ({error})") from error
    with raw:
        stream = _Stream(raw, path, gzipped)
        magic = stream.read(4)
        if magic != MAGIC:
            found = magic.hex(" ") or "an empty file"
            raise stream.error(
                0,
                "the magic number 6d e2 99 81 of a mongodump --archive file (or give a folder)",
                found,
            )
        stream.document("the archive header")
        prelude: list[dict[str, Any]] = []
        while (data := stream.item("a collection's metadata or the prelude's end")) is not None:
            prelude.append(stream.decode(data, stream.offset - len(data), "collection metadata"))
        name = choose_database(path, prelude, database)
        check_room(folder, prelude, name, stream.unpacked, stream.offset)
        if progress is not None:
            progress(f"Unpacking {path} (database {name}) into {folder}", 1)
            stream.progress = progress
        namespaces: dict[str, _Namespace] = {}
        for entry in prelude:
            ns = _Namespace(str(entry.get("db", "")), str(entry.get("collection", "")))
            ns.type = str(entry.get("type") or "")
            namespaces[ns.name] = ns
            if is_copied(ns.db, ns.collection, name) and entry.get("metadata"):
                try:  # a full disk shows at the write or the close, not the open
                    with _open(folder / f"{_file_stem(ns.collection)}.metadata.json") as out:
                        out.write(str(entry["metadata"]).encode())
                except OSError as error:
                    raise _write_error(folder, error) from error
        try:
            _body(stream, namespaces, name, folder)
        finally:
            # After an error, the files still open are about to be deleted with their folder.
            for ns in namespaces.values():
                if ns.out is not None and not ns.out.closed:
                    with contextlib.suppress(OSError):
                        ns.out.close()
    if not any(folder.glob("*.bson")):
        raise SourceError(f"{path}: database {name} has no collections in the archive")
    counts = {
        _file_stem(ns.collection): ns.documents
        for ns in namespaces.values()
        if is_copied(ns.db, ns.collection, name) and ns.state == "closed"
    }
    if progress is not None:
        done = f"{sum(counts.values()):,} documents of {len(counts)} collections"
        progress(f"Unpacked {done} in {time.monotonic() - started:.1f} s", 1)
    return name, counts


def _body(stream: _Stream, namespaces: dict[str, _Namespace], name: str, folder: Path) -> None:
    """Every block after the prelude, each document copied to its namespace's file."""
    while True:
        start, header = stream.document("a namespace header or the archive's end", end_ok=True)
        if header is None:
            break
        db, collection = str(header.get("db", "")), str(header.get("collection", ""))
        if not collection:
            raise stream.error(start, "a namespace header", "a document without a collection")
        ns = namespaces.setdefault(f"{db}.{collection}", _Namespace(db, collection))
        if ns.state == "closed":
            raise stream.error(start, "a namespace header", f"one for {ns.name}, already ended")
        copied = is_copied(ns.db, ns.collection, name)
        if ns.state == "unopened":
            ns.state = "open"
            if copied:
                ns.out = _open(folder / f"{_file_stem(collection)}.bson")
        if header.get("EOF"):
            _close(stream, ns, header.get("CRC"), start, copied)
            if copied and stream.progress is not None:
                stream.progress(f"  {ns.name}: {ns.documents:,} documents", 2)
            end = stream.offset
            if stream.item(f"the terminator after {ns.name}'s end") is not None:
                raise stream.error(end, f"the terminator after {ns.name}'s end", "a document")
            continue
        expected = f"a document of {ns.name} or its block's terminator"
        while (data := stream.item(expected)) is not None:
            if copied:
                _copy(stream, ns, data, stream.offset - len(data))
            if stream.offset >= stream.next_report:
                stream.report()
    # The stream ended where a block may start: anything begun and not ended, or announced in
    # the prelude and never seen, means the archive was cut at a block boundary.
    missing = [
        ns.name
        for ns in namespaces.values()
        if ns.db == name and ns.state != "closed" and ns.type not in _DATALESS
    ]
    if missing:
        expected = f"the rest of {', '.join(missing)} (up to an EOF header)"
        raise stream.error(stream.offset, expected, "the end of the file (cut short?)")


def _copy(stream: _Stream, ns: _Namespace, data: bytes, start: int) -> None:
    ns.crc.update(data)
    ns.documents += 1
    if ns.first < 0:
        ns.first = start
    ns.end = start + len(data)
    if ns.collection in _NEVER_COPIED:
        data = _id_only(stream, ns, data, start)
    assert ns.out is not None  # opened with the namespace's first header
    try:
        ns.out.write(data)
    except OSError as error:
        raise _write_error(Path(ns.out.name).parent, error) from error


def _id_only(stream: _Stream, ns: _Namespace, data: bytes, start: int) -> bytes:
    """A credential document reduced to its `_id` (quirk Q12): the one decoded document."""
    doc = stream.decode(data, start, f"a document of {ns.name}")
    return bson.encode({"_id": doc["_id"]} if "_id" in doc else {})


def _close(stream: _Stream, ns: _Namespace, crc: Any, start: int, copied: bool) -> None:
    ns.state = "closed"
    if not copied or ns.out is None:
        return
    try:
        ns.out.close()
    except OSError as error:
        raise _write_error(Path(ns.out.name).parent, error) from error
    computed = ns.crc.value()
    if not isinstance(crc, int) or (crc & MASK) != computed:
        stored = f"{crc & MASK:#018x}" if isinstance(crc, int) else repr(crc)
        # The documents themselves are not decoded: the CRC is what finds a damaged one, and
        # it can only say which collection, and the bytes its documents came from.
        span = f"its documents, within bytes {ns.first}-{ns.end}" if ns.first >= 0 else "none"
        found = f"CRC {stored} in its EOF header ({span}: altered or damaged?)"
        raise stream.error(start, f"CRC {computed:#018x} of {ns.name}'s documents", found)


def _file_stem(collection: str) -> str:
    """The file name mongodump gives a collection (Go's url.PathEscape, util.go): a name with
    `/` in it can never write outside the folder."""
    return quote(collection, safe="$&+,;=:@")


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("xb", buffering=256 * 1024)
    except OSError as error:
        raise _write_error(path.parent, error) from error


def _write_error(folder: Path, error: OSError) -> SourceError:
    return SourceError(
        f"{folder}: cannot write the archive's collections there ({error}). They need about "
        f"the database's uncompressed size: {ROOM}"
    )
