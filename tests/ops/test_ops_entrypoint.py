"""scripts/docker-entrypoint.sh, run outside Docker with bash against the session's PostgreSQL,
as the image runs it: production settings, gunicorn, the HEALTHCHECK command."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
from psycopg import sql

ADMIN_EMAIL = "admin@example.test"  # what the served_app fixture asks the entrypoint for


def test_entrypoint_migrates_then_serves_healthz_with_gunicorn(ops, served_app) -> None:
    status, headers, body = ops.http_get(served_app.port, "/healthz")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "database": "ok"}
    assert headers["Server"].startswith("gunicorn")

    log = served_app.log.read_text()
    assert "Applying crm.0001_postgres_extensions... OK" in log  # the database started empty
    assert log.index("applying migrations") < log.index("Listening at:")
    with psycopg.connect(served_app.database_url) as conn:
        applied = conn.execute("SELECT count(*) FROM django_migrations WHERE app = 'crm'")
        assert applied.fetchone()[0] >= 3
    # Production settings are in force: other pages redirect to HTTPS; /healthz is exempt.
    status, headers, _ = ops.http_get(served_app.port, "/")
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
    env = ops.entrypoint_env(base_env, database_url, port, tmp_path)

    result = ops.run(["bash", str(ops.scripts / "docker-entrypoint.sh"), "web"], env)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert 'relation "crm_company" already exists' in output
    assert "migrate failed" in output
    assert "refusing to start" in output
    assert "gunicorn" not in output.replace("starting gunicorn", "")
    assert "starting gunicorn" not in output
    assert not ops.port_is_listening(port)
    with psycopg.connect(database_url) as conn:
        crm = conn.execute("SELECT name FROM django_migrations WHERE app = 'crm' ORDER BY name")
        assert [name for (name,) in crm] == ["0001_postgres_extensions"]  # partly migrated


def test_entrypoint_gives_up_on_an_unreachable_database_after_its_bound(
    ops, base_env, tmp_path: Path
) -> None:
    dead_port = ops.free_port()  # nothing listens there
    database_url = f"postgres://minicrm:s3cret-pw@127.0.0.1:{dead_port}/minicrm"
    port = ops.free_port()
    env = ops.entrypoint_env(base_env, database_url, port, tmp_path) | {"DB_WAIT_TIMEOUT": "3"}

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
    assert not ops.port_is_listening(port)
