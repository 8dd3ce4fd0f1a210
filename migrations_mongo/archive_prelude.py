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
    "set TMPDIR to a disk with room (a run that was killed may have left minicrm-archive-* "
    "folders there: delete them)."
)


def check_room(folder: Path, prelude: list[dict[str, Any]], name: str, unpacked: int) -> None:
    """Refuse before writing when TMPDIR is sure to be too small (not after a half-written
    folder), if the stream's size tells: with one database besides MongoDB's own, the folder
    takes about the `unpacked` bytes of the stream (a gzip's trailer's modulo 4 GiB: a lower
    bound, which still proves a shortage; 0: unknown). A disk full mid-way is still named."""
    if not unpacked or any(entry.get("db") not in (*SERVER_DATABASES, name) for entry in prelude):
        return
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if free < unpacked:
        raise SourceError(
            f"{folder}: {free / MB:,.0f} MB free, and database {name} needs about "
            f"{unpacked / MB:,.0f} MB unpacked: {ROOM}"
        )


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
