"""scripts/docker-entrypoint.sh, run outside Docker with bash against the session's PostgreSQL,
as the image runs it: production settings, gunicorn, the HEALTHCHECK command."""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

HOST = "crm.example.test"
ADMIN_EMAIL = "admin@example.test"


def entrypoint_env(
    base_env: Mapping[str, str], database_url: str, port: int, tmp: Path
) -> dict[str, str]:
    """What docker-compose.prod.yml gives the container, with paths and port for this host."""
    (tmp / "static").mkdir(exist_ok=True)
    (tmp / "media").mkdir(exist_ok=True)
    return base_env | {
        "DATABASE_URL": database_url,
        "MINICRM_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "STATIC_ROOT": str(tmp / "static"),
        "MEDIA_ROOT": str(tmp / "media"),
        "BIND_HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "DB_WAIT_TIMEOUT": "30",
    }


def get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    """One request with the production Host header, redirects not followed."""
    conn = HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": HOST})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def port_is_listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@dataclass
class ServedApp:
    env: dict[str, str]
    port: int
    database_url: str
    log: Path
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def served_app(
    base_env: Mapping[str, str],
    database_factory: Callable[..., str],
    ops,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServedApp]:
    """`docker-entrypoint.sh web` on an empty database with a first-start superuser, until
    /healthz answers; stopped with SIGTERM (what `docker stop` sends) afterwards."""
    tmp = tmp_path_factory.mktemp("entrypoint")
    port = ops.free_port()
    database_url = database_factory()
    env = entrypoint_env(base_env, database_url, port, tmp) | {
        "DJANGO_SUPERUSER_EMAIL": ADMIN_EMAIL,
        "DJANGO_SUPERUSER_PASSWORD": secrets.token_urlsafe(16),
    }
    log = tmp / "entrypoint.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", str(ops.scripts / "docker-entrypoint.sh"), "web"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    app = ServedApp(env, port, database_url, log, process)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"the entrypoint exited ({process.returncode}):\n{log.read_text()}")
            try:
                if get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"/healthz never answered 200:\n{log.read_text()}")
            time.sleep(0.25)
        yield app
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail("gunicorn did not stop within 30 s of SIGTERM")
    assert process.returncode == 0, f"unclean shutdown:\n{log.read_text()}"


def test_entrypoint_migrates_then_serves_healthz_with_gunicorn(served_app: ServedApp) -> None:
    status, headers, body = get(served_app.port, "/healthz")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "database": "ok"}
    assert headers["Server"].startswith("gunicorn")

    log = served_app.log.read_text()
    assert log.index("applying migrations") < log.index("Listening at:")
    with psycopg.connect(served_app.database_url) as conn:
        applied = conn.execute("SELECT count(*) FROM django_migrations WHERE app = 'crm'")
        assert applied.fetchone()[0] >= 3
    # Production settings are in force: other pages redirect to HTTPS; /healthz is exempt.
    status, headers, _ = get(served_app.port, "/")
    assert status == 301
    assert headers["Location"].startswith("https://")


def test_healthcheck_command_passes_against_the_running_server(ops, served_app) -> None:
    """The image's HEALTHCHECK command, with the container's environment."""
    entrypoint = str(ops.scripts / "docker-entrypoint.sh")
    result = ops.run(["bash", entrypoint, "healthcheck"], served_app.env, timeout=30)
    assert result.returncode == 0, result.stderr

    nothing_there = served_app.env | {"PORT": str(ops.free_port())}
    result = ops.run(["bash", entrypoint, "healthcheck"], nothing_there, timeout=30)
    assert result.returncode == 1
    assert "unhealthy" in result.stderr


def _superusers(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT email FROM accounts_user WHERE is_superuser ORDER BY email")
        return [email for (email,) in rows]


def test_first_start_superuser_is_created_once(ops, served_app) -> None:
    assert _superusers(served_app.database_url) == [ADMIN_EMAIL]

    # A restart (here: the preparation alone) with the same variables leaves it alone.
    result = ops.run(
        ["bash", str(ops.scripts / "docker-entrypoint.sh"), "prepare"], served_app.env
    )
    assert result.returncode == 0, result.stderr
    assert f"superuser {ADMIN_EMAIL} exists; left unchanged" in result.stderr
    assert _superusers(served_app.database_url) == [ADMIN_EMAIL]


def test_weak_first_superuser_password_is_refused(ops, served_app) -> None:
    env = served_app.env | {
        "DJANGO_SUPERUSER_EMAIL": "second@example.test",
        "DJANGO_SUPERUSER_PASSWORD": "password",
    }
    result = ops.run(["bash", str(ops.scripts / "docker-entrypoint.sh"), "prepare"], env)
    assert result.returncode != 0
    assert "DJANGO_SUPERUSER_PASSWORD refused" in result.stderr
    assert _superusers(served_app.database_url) == [ADMIN_EMAIL]


def test_entrypoint_refuses_to_serve_when_a_migration_fails(
    ops, base_env, database_factory, tmp_path: Path
) -> None:
    """A table in the way of a real migration (as a half-restored or hand-edited database has)
    makes `migrate` fail partway: the entrypoint exits non-zero and gunicorn never starts."""
    database_url = database_factory()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE crm_company (id integer)"))
    port = ops.free_port()
    env = entrypoint_env(base_env, database_url, port, tmp_path)

    result = ops.run(["bash", str(ops.scripts / "docker-entrypoint.sh"), "web"], env)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert 'relation "crm_company" already exists' in output
    assert "migrate failed" in output
    assert "refusing to start" in output
    assert "gunicorn" not in output.replace("starting gunicorn", "")
    assert "starting gunicorn" not in output
    assert not port_is_listening(port)
    with psycopg.connect(database_url) as conn:
        crm = conn.execute("SELECT name FROM django_migrations WHERE app = 'crm' ORDER BY name")
        assert [name for (name,) in crm] == ["0001_postgres_extensions"]  # partly migrated


def test_entrypoint_gives_up_on_an_unreachable_database_after_its_bound(
    ops, base_env, tmp_path: Path
) -> None:
    dead_port = ops.free_port()  # nothing listens there
    database_url = f"postgres://minicrm:s3cret-pw@127.0.0.1:{dead_port}/minicrm"
    port = ops.free_port()
    env = entrypoint_env(base_env, database_url, port, tmp_path) | {"DB_WAIT_TIMEOUT": "3"}

    started = time.monotonic()
    result = ops.run(["bash", str(ops.scripts / "docker-entrypoint.sh"), "web"], env, timeout=60)
    elapsed = time.monotonic() - started

    assert result.returncode == 1
    assert (
        f"gave up waiting for the database at 127.0.0.1:{dead_port}/minicrm after 3s"
        in result.stderr
    )
    assert "Connection refused" in result.stderr
    assert "s3cret-pw" not in result.stderr  # the message names the server, not the password
    assert "applying migrations" not in result.stderr
    assert 3 <= elapsed < 3 + 20  # the bound, plus Python and Django start-up
    assert not port_is_listening(port)
