"""Helpers shared by the MongoDB import tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import bson


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
