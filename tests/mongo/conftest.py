"""Fixtures for the MongoDB import tests: real BSON files written by pymongo's bson module, and
the import run as operators run it (call_command), against the real PostgreSQL."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from migrations_mongo.fakedump import generate_dump
from tests.mongo.mongo_helpers import write_bson


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch) -> Path:
    """TMPDIR for one test (tempfile's own setting), to see what a run leaves in it."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def nextcrm(tmp_path: Path) -> Path:
    """A generated NextCRM dump with every collection and quirk (migrations_mongo.fakedump).
    (test_validate.py has a `nextcrm` of its own: the documents, not the folder.)"""
    generate_dump(tmp_path / "nextcrm", contacts=120, seed=7)
    return tmp_path / "nextcrm"


@pytest.fixture
def dump(tmp_path: Path) -> Callable[..., Path]:
    """dump(Users=[...], crm_Accounts=[...]) -> the folder, one .bson file per collection."""
    folder = tmp_path / "dump"
    folder.mkdir()

    def make(**collections: list[dict[str, Any]]) -> Path:
        for name, docs in collections.items():
            write_bson(folder, name, docs)
        return folder

    return make


@pytest.fixture
def run_import(tmp_path: Path, settings: Any) -> Callable[..., int]:
    """Run migrate_from_mongo on a folder; returns its exit code (0, or 2 when documents
    failed). BCrypt is among the hashers, as in production settings."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.BCryptPasswordHasher",
    ]

    def run(folder: Path, **options: Any) -> int:
        options.setdefault("quiet", True)
        options.setdefault("error_log", str(tmp_path / "errors.jsonl"))
        try:
            call_command("migrate_from_mongo", dump=str(folder), **options)
        except SystemExit as exit_:
            return int(exit_.code or 0)
        return 0

    return run
