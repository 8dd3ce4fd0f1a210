"""What an archive's prelude decides before a byte of data is copied: which database of the
archive is NextCRM's, and whether the temp folder has room for it (migrations_mongo.archive
reads the prelude and unpacks)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .sources import SourceError

# MongoDB's own databases, left out when choosing "the" database of a whole-server archive ("":
# the oplog of `mongodump --oplog`).
SERVER_DATABASES = ("", "admin", "config", "local")
MB = 1024 * 1024
ROOM = (
    "set TMPDIR to a folder on a disk with room (TMPDIR=/path/with/room python manage.py ...; a "
    "run that was killed may have left minicrm-archive-* folders there: delete them)."
)


def is_copied(db: str, collection: str, database: str) -> bool:
    """Whether a namespace goes to the folder: the chosen database's, less MongoDB's own
    system.* collections, which the import ignores anyway."""
    return db == database and not collection.startswith("system.")


def check_room(
    folder: Path, prelude: list[dict[str, Any]], name: str, unpacked: int, prelude_end: int
) -> None:
    """Refuse before writing when TMPDIR clearly cannot hold the folder (rather than fail
    half-way). The folder gets what follows the prelude (which ends at `prelude_end` of the
    stream's `unpacked` bytes) and the collections' metadata, less what is never written:
    MongoDB's own databases, the credential documents but their _ids, block headers. Nothing
    before the data tells how much that is (mongodump leaves the prelude's `size` fields at 0),
    so up to a tenth is allowed for. No check when the size is unknown (0), or when another
    database shares the archive (its share could be anything). A disk that fills up mid-way is
    still named (archive._write_error)."""
    if unpacked <= prelude_end:
        return  # unknown, or a gzip's size that wrapped at 4 GiB to below the prelude's end
    if any(entry.get("db") not in (*SERVER_DATABASES, name) for entry in prelude):
        return
    metadata = sum(
        len(str(entry.get("metadata") or "").encode())
        for entry in prelude
        if is_copied(str(entry.get("db", "")), str(entry.get("collection", "")), name)
    )
    needed = unpacked - prelude_end + metadata
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if free * 10 < needed * 9:
        raise SourceError(
            f"about {_megabytes(needed)} needed to unpack database {name}, "
            f"{_megabytes(free)} free in {folder.parent}: {ROOM}"
        )


def _megabytes(size: int) -> str:
    return f"{size / MB:,.{0 if size >= 100 * MB else 1}f} MB"


def choose_database(path: Path, prelude: list[dict[str, Any]], wanted: str) -> str:
    databases = list(dict.fromkeys(str(entry.get("db", "")) for entry in prelude))
    if wanted:
        if wanted not in databases:
            listed = ", ".join(databases) or "none"
            raise SourceError(f"{path}: no database {wanted} in the archive (it holds: {listed})")
        return wanted
    candidates = [db for db in databases if db not in SERVER_DATABASES]
    if len(candidates) != 1:
        listed = ", ".join(candidates) or "only MongoDB's own"
        raise SourceError(
            f"{path}: the archive holds {len(candidates)} databases ({listed}): "
            "name the NextCRM one with --database"
        )
    return candidates[0]
