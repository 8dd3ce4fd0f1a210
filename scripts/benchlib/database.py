"""The database side of a benchmark: Django on a scratch database or a given one, and the CPU
time the PostgreSQL backend of Django's connection has used."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def django_database(url: str | None) -> Iterator[None]:
    """Django on a migrated scratch database (config.localdb.scratch_django(), dropped
    afterwards), or on `url` as it is (neither migrated nor dropped); connections closed at
    the end either way."""
    if not url:
        from config.localdb import scratch_django

        with scratch_django():
            yield
        return
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()


class BackendClock:
    """CPU seconds used by the PostgreSQL backend of Django's connection, from
    /proc/<pid>/schedstat; read() gives None if the server is not on this machine."""

    def __init__(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.path = Path(f"/proc/{cursor.fetchone()[0]}/schedstat")

    def read(self) -> float | None:
        try:
            return int(self.path.read_text().split()[0]) / 1e9
        except OSError:
            return None
