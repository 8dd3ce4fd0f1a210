"""Test-wide fixtures: a throwaway embedded PostgreSQL unless DATABASE_URL is set."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.conf import settings

from config import localdb


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
) -> Iterator[None]:
    """Point Django at a fresh embedded cluster for this session (pytest-django's hook for
    changing database settings before the test database is created)."""
    if os.environ.get("DATABASE_URL"):
        yield
        return
    server = localdb.throwaway()
    for db in settings.DATABASES.values():
        db.update(HOST="127.0.0.1", PORT=str(server.port), USER=localdb.SUPERUSER, PASSWORD="")
    try:
        yield
    finally:
        localdb.discard(server)
