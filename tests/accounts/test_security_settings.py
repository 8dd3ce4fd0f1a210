"""Security defaults: `check --deploy` clean in production, security headers (CSP without
inline scripts among them), cookies, HSTS behind a TLS proxy, and CSRF on every POST."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.factories import DEFAULT_PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def _production_env(**extra: str) -> dict[str, str]:
    # A clean environment: nothing from the test run (DEBUG, DATABASE_URL...) leaks in.
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(ROOT),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "MINICRM_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "crm.example.test",
        **extra,
    }


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("proxy_header", ["", "HTTP_X_FORWARDED_PROTO"])
def test_check_deploy_is_clean_with_production_settings(proxy_header: str) -> None:
    env = _production_env(SECURE_PROXY_SSL_HEADER=proxy_header)
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout


def test_production_settings_values() -> None:
    names = [
        "DEBUG",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_HTTPONLY",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "X_FRAME_OPTIONS",
        "SECURE_REFERRER_POLICY",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "SECURE_PROXY_SSL_HEADER",
        "REQUIRE_MFA_FOR_ADMINS",
        "ACCOUNT_ALLOW_SIGNUP",
    ]
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    env = _production_env(SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO")
    result = _run(["-c", code], env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "REQUIRE_MFA_FOR_ADMINS": True,
        "ACCOUNT_ALLOW_SIGNUP": False,
    }


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = _production_env()
    del env["SECRET_KEY"]
    result = _run(["-c", "import django; django.setup()"], env)
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


# --- headers ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/", "/admin/login/"])
def test_every_response_carries_the_security_headers(client, sales_rep, path: str) -> None:
    client.force_login(sales_rep)
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    parts = [part.strip().split(" ", 1) for part in csp.split(";") if part.strip()]
    directives = {name: value for name, value in parts}
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_sign_in_pages_have_no_inline_script(client) -> None:
    html = client.get("/accounts/login/").content.decode()
    assert "<script>" not in html and "onclick=" not in html and "onload=" not in html


@pytest.mark.django_db
def test_hsts_and_https_behind_a_tls_proxy(client, settings) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    plain = client.get("/accounts/login/")
    assert plain.status_code == 301
    assert plain.url.startswith("https://")
    proxied = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    # The health probe stays reachable over plain HTTP inside the container network.
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_httponly(client, sales_rep) -> None:
    client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/", {"login": sales_rep.email, "password": DEFAULT_PASSWORD}
    )
    assert response.cookies["sessionid"]["httponly"]
    assert client.cookies["csrftoken"]["httponly"]


# --- CSRF -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_post_without_csrf_token_is_refused(sales_rep) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")  # has a CSRF cookie, but the form field is missing
    response = client.post(
        "/accounts/login/", {"login": sales_rep.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name",
    [
        "account_logout",
        "account_change_password",
        "usersessions_list",
        "mfa_activate_totp",
        "admin:accounts_team_add",
    ],
)
def test_signed_in_posts_without_csrf_token_are_refused(admin_user, url_name: str) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(reverse(url_name), {"name": "Sneaky team"})
    assert response.status_code == 403
    # Still signed in: the refused logout did nothing.
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_post_with_the_token_goes_through(sales_rep) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/")
    token = page.context["csrf_token"]
    response = client.post(
        "/accounts/login/",
        {"login": sales_rep.email, "password": DEFAULT_PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
