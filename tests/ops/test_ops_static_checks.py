"""Checks on the container and deployment files that need no Docker engine: hadolint on the
Dockerfile, the real Compose binary on both compose files, shellcheck on the ops scripts, and
the production env example against the settings it configures."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

SHELL_SCRIPTS = ["docker-entrypoint.sh", "backup.sh", "restore.sh"]
# Sourced by backup.sh and restore.sh: linted, but not executable on its own.
SOURCED_SCRIPTS = ["lib-pg.sh"]
# What production must provide; docker-compose.prod.yml stops when one is missing.
PROD_SECRETS = ["SECRET_KEY", "ALLOWED_HOSTS", "POSTGRES_PASSWORD", "APP_DB_PASSWORD"]
DUMMY_PROD_ENV = (
    "SECRET_KEY=x\nALLOWED_HOSTS=crm.example.test\nPOSTGRES_PASSWORD=abc123\n"
    "APP_DB_PASSWORD=def456\n"
)


def test_dockerfile_passes_hadolint_at_error_level(ops, base_env: Mapping[str, str]) -> None:
    hadolint = ops.require_tool("hadolint", "lints the Dockerfile")
    result = ops.run(
        [hadolint, "--no-color", "--failure-threshold", "error", "Dockerfile"], base_env
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_report_errors(ops, base_env: Mapping[str, str], tmp_path: Path) -> None:
    """The check above means something: the same invocation fails on a broken Dockerfile."""
    hadolint = ops.require_tool("hadolint", "lints the Dockerfile")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nCOPY a b c\n")  # DL3021, an error
    result = ops.run([hadolint, "--no-color", "--failure-threshold", "error", str(bad)], base_env)
    assert result.returncode != 0
    assert "DL3021" in result.stdout


def _compose(
    ops, env: Mapping[str, str], project_dir: Path, file: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run Compose on one of our files with a scratch project directory, so a developer's own
    .env in the checkout cannot change the outcome."""
    compose = ops.require_tool("docker-compose", "validates the compose files")
    return ops.run(
        [compose, "--project-directory", str(project_dir), "-f", str(ops.root / file), *args],
        env,
    )


def test_development_compose_file_is_valid(ops, base_env, tmp_path: Path) -> None:
    result = _compose(ops, base_env, tmp_path, "docker-compose.yml", "config", "-q")
    assert result.returncode == 0, result.stderr

    config = json.loads(
        _compose(
            ops, base_env, tmp_path, "docker-compose.yml", "config", "--format", "json"
        ).stdout
    )
    db, web = config["services"]["db"], config["services"]["web"]
    # PostgreSQL published for local tools, on the loopback interface only.
    assert [(p["host_ip"], p["target"]) for p in db["ports"]] == [("127.0.0.1", 5432)]
    assert [p["host_ip"] for p in web["ports"]] == ["127.0.0.1"]
    assert web["command"] == ["runserver"]
    assert any(v["type"] == "bind" and v["target"] == "/app" for v in web["volumes"])


def test_production_compose_file_is_valid_with_a_complete_env(ops, base_env, tmp_path) -> None:
    (tmp_path / ".env").write_text(DUMMY_PROD_ENV)
    result = _compose(ops, base_env, tmp_path, "docker-compose.prod.yml", "config", "-q")
    assert result.returncode == 0, result.stderr

    config = json.loads(
        _compose(
            ops, base_env, tmp_path, "docker-compose.prod.yml", "config", "--format", "json"
        ).stdout
    )
    db, web = config["services"]["db"], config["services"]["web"]
    assert db["image"].startswith("pgvector/pgvector:pg18")
    assert "ports" not in db, "PostgreSQL must not be published to the host in production"
    assert [p["host_ip"] for p in web["ports"]] == ["127.0.0.1"]
    assert web["depends_on"]["db"]["condition"] == "service_healthy"
    for service in (db, web):
        assert service["restart"] == "unless-stopped"
        assert service["healthcheck"]["test"], "every service has a health check"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    # Data and uploads live in named volumes, where `docker compose down` does not delete them.
    mounts = {
        (name, v["target"])
        for name, service in config["services"].items()
        for v in service.get("volumes", [])
        if v["type"] == "volume"
    }
    assert ("db", "/var/lib/postgresql") in mounts
    assert ("web", "/var/lib/minicrm/media") in mounts
    assert web["environment"]["MINICRM_ENV"] == "production"
    # The app connects as a role that owns nothing; the owner migrates.
    owner_url = "postgres://minicrm:abc123@db:5432/minicrm"
    assert web["environment"]["MIGRATE_DATABASE_URL"] == owner_url
    assert web["environment"]["DATABASE_URL"] == "postgres://minicrm_app:def456@db:5432/minicrm"


def test_production_compose_refuses_to_start_without_its_secrets(ops, base_env, tmp_path) -> None:
    (tmp_path / ".env").write_text("# filled in from .env.production.example, but not yet\n")
    result = _compose(ops, base_env, tmp_path, "docker-compose.prod.yml", "config", "-q")
    assert result.returncode != 0
    for name in PROD_SECRETS:
        assert f"set {name} in .env" in result.stderr


def test_ops_shell_scripts_pass_shellcheck(ops, base_env) -> None:
    shellcheck = ops.require_tool("shellcheck", "lints the shell scripts")
    scripts = [str(ops.scripts / name) for name in [*SHELL_SCRIPTS, *SOURCED_SCRIPTS]]
    # -x follows the `source` of lib-pg.sh, so its functions are checked where they are used.
    result = ops.run([shellcheck, "-x", "--severity=style", *scripts], base_env)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("name", SHELL_SCRIPTS)
def test_ops_scripts_are_executable(ops, name: str) -> None:
    # The image runs the entrypoint directly; cron runs the backup script directly.
    assert (ops.scripts / name).stat().st_mode & 0o111


def test_production_env_example_documents_every_setting(ops) -> None:
    """Every variable the settings read, and every one the production compose file or the
    entrypoint reads, appears in .env.production.example (set, or commented out)."""
    example = (ops.root / ".env.production.example").read_text()
    documented = set(re.findall(r"\b([A-Z][A-Z0-9_]*)\b", example))

    settings_vars = re.findall(
        r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", (ops.root / "config/settings.py").read_text()
    )
    compose_vars = re.findall(
        r"\$\{([A-Z][A-Z0-9_]*)", (ops.root / "docker-compose.prod.yml").read_text()
    )
    entrypoint_vars = [
        "DB_WAIT_TIMEOUT",
        "WEB_CONCURRENCY",
        "GUNICORN_THREADS",
        "GUNICORN_KEEPALIVE",
        "GUNICORN_TIMEOUT",
        "PORT",
        "DJANGO_SUPERUSER_EMAIL",
        "DJANGO_SUPERUSER_PASSWORD",
        "MIGRATE_DATABASE_URL",
    ]
    assert settings_vars, "the settings pattern no longer matches config/settings.py"
    missing = sorted(set(settings_vars + compose_vars + entrypoint_vars) - documented)
    assert not missing, f"document these in .env.production.example: {missing}"
