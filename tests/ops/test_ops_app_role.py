"""The production setup of docs/audit.md, run by the entrypoint: MIGRATE_DATABASE_URL (the tables'
owner) migrates, creates the app's role and grants it audit/sql/grant_app_role.sql; gunicorn
connects with DATABASE_URL as that role, which writes audited CRM rows and can neither switch the
audit triggers off nor touch the log. Outside Docker, against the session's PostgreSQL, whose
superuser stands for the compose file's POSTGRES_USER."""

from __future__ import annotations

import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from tests.db_role_helpers import insert_company, refusal


@pytest.fixture
def app_role(ops) -> Iterator[tuple[str, str]]:
    """A role name (random: roles are cluster-wide) and its password; whatever the entrypoint
    made of it is dropped afterwards, with its privileges in every database."""
    role, password = f"minicrm_app_{secrets.token_hex(4)}", secrets.token_hex(16)
    yield role, password
    with psycopg.connect(ops.server_url("postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            return
        databases = conn.execute(
            "SELECT datname FROM pg_database WHERE datallowconn AND datname LIKE 'minicrm_ops_%'"
        ).fetchall()
    for (name,) in databases:
        with psycopg.connect(ops.server_url(name), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    ops.admin_execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _app_url(database_url: str, role: str, password: str) -> str:
    db = settings.DATABASES["default"]
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{role}:{password}@{host}:{port}/{database_url.rsplit('/', 1)[1]}"


def _serve(ops, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", str(ops.scripts / "docker-entrypoint.sh"), "web"],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            pytest.fail(f"the entrypoint exited ({process.returncode}):\n{log.read_text()}")
        try:
            if ops.http_get(int(env["PORT"]), "/healthz")[0] == 200:
                return process
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"/healthz never answered 200:\n{log.read_text()}")
        time.sleep(0.25)


def test_the_app_runs_as_a_non_owner_role_that_cannot_tamper_with_the_audit_log(
    ops,
    base_env: Mapping[str, str],
    database_factory: Callable[..., str],
    app_role: tuple[str, str],
    tmp_path: Path,
) -> None:
    role, password = app_role
    owner_url = database_factory()
    app_url = _app_url(owner_url, role, password)
    env = ops.entrypoint_env(base_env, app_url, ops.free_port(), tmp_path) | {
        "MIGRATE_DATABASE_URL": owner_url,
        "CONN_MAX_AGE": "0",
    }
    log = tmp_path / "entrypoint.log"
    process = _serve(ops, env, log)
    try:
        status, headers, _ = ops.http_get(int(env["PORT"]), "/healthz")
        assert status == 200
        assert headers["Server"].startswith("gunicorn")

        # The entrypoint exec'd gunicorn (same pid) with the app's URL only: neither the owner's
        # URL nor the database password is left in its environment.
        environ = dict(
            item.split("=", 1)
            for item in Path(f"/proc/{process.pid}/environ").read_text().split("\0")
            if "=" in item
        )
        assert environ["DATABASE_URL"] == app_url
        assert "MIGRATE_DATABASE_URL" not in environ

        with psycopg.connect(app_url, autocommit=True) as app:
            company_id = insert_company(app, "Role Co")
            audited = app.execute(
                "SELECT action, db_role FROM audit_event WHERE record_id = %s", (company_id,)
            ).fetchall()
            assert audited == [("insert", role)]
            message = refusal(app, "ALTER TABLE crm_company DISABLE TRIGGER ALL")
            assert "must be owner" in message
            assert "permission denied" in refusal(app, "DELETE FROM audit_event")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    output = log.read_text()
    assert f"created the app's role '{role}'" in output
    assert f"granted '{role}' the app's privileges" in output
    assert output.index("granted") < output.index("starting gunicorn")
    assert password not in output
    assert "not tamper-proof" not in output
    with psycopg.connect(owner_url) as owner:
        tables_owned = owner.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = %s",
            (role,),
        ).fetchone()[0]
        assert tables_owned == 0

    # A restart finds the role and leaves its password alone (the app still logs in).
    result = ops.run(["bash", str(ops.scripts / "docker-entrypoint.sh"), "prepare"], env)
    assert result.returncode == 0, result.stderr
    assert f"the app's role '{role}' exists (password left unchanged)" in result.stderr
    assert password not in result.stderr


def test_the_same_role_in_both_urls_is_refused_before_anything_runs(
    ops, base_env: Mapping[str, str], tmp_path: Path
) -> None:
    # Nothing listens on the port: the refusal comes before the entrypoint even connects.
    url = f"postgres://minicrm:s3cret-pw@127.0.0.1:{ops.free_port()}/minicrm"
    port = ops.free_port()
    env = ops.entrypoint_env(base_env, url, port, tmp_path) | {"MIGRATE_DATABASE_URL": url}

    result = ops.run(["bash", str(ops.scripts / "docker-entrypoint.sh"), "web"], env, timeout=60)

    assert result.returncode != 0
    assert "both connect as 'minicrm': refusing to start" in result.stderr
    assert "s3cret-pw" not in result.stderr
    assert "applying migrations" not in result.stderr
    assert "starting gunicorn" not in result.stderr
    assert not ops.port_is_listening(port)


def test_without_migrate_database_url_the_log_says_the_app_owns_the_tables(served_app) -> None:
    assert "MIGRATE_DATABASE_URL is not set" in served_app.log.read_text()
    assert "not tamper-proof" in served_app.log.read_text()


def test_a_superuser_app_role_is_refused_before_gunicorn_starts(
    ops,
    base_env: Mapping[str, str],
    database_factory: Callable[..., str],
    served_app,
    app_role: tuple[str, str],
    tmp_path: Path,
) -> None:
    """A role that could switch the triggers off is no app role: exit non-zero, no server."""
    role, password = app_role
    ops.admin_execute(sql.SQL("CREATE ROLE {} SUPERUSER LOGIN").format(sql.Identifier(role)))
    owner_url = database_factory(template=ops.database_name(served_app.database_url))
    port = ops.free_port()
    env = ops.entrypoint_env(base_env, _app_url(owner_url, role, password), port, tmp_path) | {
        "MIGRATE_DATABASE_URL": owner_url
    }

    result = ops.run(["bash", str(ops.scripts / "docker-entrypoint.sh"), "web"], env)

    assert result.returncode != 0
    assert f"the app's role '{role}' is a superuser" in result.stderr
    assert "starting gunicorn" not in result.stderr
    assert password not in result.stderr
    assert not ops.port_is_listening(port)
