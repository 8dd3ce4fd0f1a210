"""Production settings fail loudly at start when misconfigured, and what `check --deploy`
reports with a complete production environment (a new process each time, as a container
starts: settings are read once, at import)."""

from __future__ import annotations

import re
import secrets
import sys
from collections.abc import Mapping

import pytest

SETUP = [sys.executable, "-c", "import django; django.setup(); print('settings loaded')"]
# security.W021: SECURE_HSTS_PRELOAD is off on purpose (.env.production.example says why).
# Anything else `check --deploy` reports in production is a regression.
ACCEPTED_DEPLOY_WARNINGS = {"security.W021"}


@pytest.fixture
def production_env(base_env: Mapping[str, str]) -> dict[str, str]:
    return base_env | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "MINICRM_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "crm.example.test",
    }


def test_production_settings_load_when_complete(ops, production_env: dict[str, str]) -> None:
    """The control for the refusals below: the same command succeeds with the values set."""
    result = ops.run(SETUP, production_env)
    assert result.returncode == 0, result.stderr
    assert "settings loaded" in result.stdout


def test_production_refuses_to_start_without_secret_key(ops, production_env) -> None:
    del production_env["SECRET_KEY"]
    result = ops.run(SETUP, production_env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is required when MINICRM_ENV=production" in (
        result.stderr
    )


def test_production_refuses_an_empty_secret_key(ops, production_env) -> None:
    # An empty line in .env ("SECRET_KEY=") must not count as set.
    result = ops.run(SETUP, production_env | {"SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


@pytest.mark.parametrize("value", ["True", "true", "1"])
def test_production_refuses_debug_true(ops, production_env, value: str) -> None:
    result = ops.run(SETUP, production_env | {"DEBUG": value})
    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG=true is refused when MINICRM_ENV=production" in (
        result.stderr
    )


def test_production_refuses_to_start_without_allowed_hosts(ops, production_env) -> None:
    del production_env["ALLOWED_HOSTS"]
    result = ops.run(SETUP, production_env)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is required" in result.stderr


def test_check_deploy_reports_nothing_but_the_accepted_warnings(ops, production_env) -> None:
    """What `manage.py check --deploy` says about the production image's configuration
    (proxy header set as .env.production.example sets it). The output is printed for the
    record; a new warning fails here until it is fixed or consciously accepted above."""
    env = production_env | {"SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO"}
    result = ops.run([sys.executable, "manage.py", "check", "--deploy"], env)
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stderr
    reported = set(re.findall(r"\((\w+\.[EW]\d+)\)", result.stdout + result.stderr))
    assert reported <= ACCEPTED_DEPLOY_WARNINGS, f"new deploy-check findings: {reported}"
