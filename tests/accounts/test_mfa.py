"""Two-factor authentication through allauth's real views: TOTP enrolment, sign-in with a
TOTP code or a recovery code, and the policy that requires it of admins."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.test import Client
from django.urls import reverse

from accounts.factories import DEFAULT_PASSWORD
from accounts.models import User

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def one_step_of_clock_tolerance(settings) -> None:
    # A code computed just before a 30-second boundary and checked just after must not make
    # the suite flaky; one step either side is what authenticator apps get in practice too.
    settings.MFA_TOTP_TOLERANCE = 1


def rfc6238_code(secret: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """TOTP (RFC 6238) written out here, independent of allauth's implementation."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def test_our_rfc6238_code_matches_allauths() -> None:
    secret = "JBSWY3DPEHPK3PXP"
    at = 1_700_000_000
    assert rfc6238_code(secret, at) == format_hotp_value(hotp_value(secret, at // 30))


def _sign_in(client: Client, user: User, **extra: str):
    return client.post(LOGIN, {"login": user.email, "password": DEFAULT_PASSWORD, **extra})


def _enrol(client: Client) -> str:
    """Activate an authenticator app through the activation page; returns the secret."""
    page = client.get(reverse("mfa_activate_totp"))
    # Enrolling asks for the password again first (a borrowed session cannot add a factor).
    assert page.status_code == 302
    assert page.url.startswith(reverse("account_reauthenticate"))
    response = client.post(page.url, {"password": DEFAULT_PASSWORD})
    assert response.url == reverse("mfa_activate_totp")
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html  # the QR code, as a data: image
    secret = page.context["form"].secret
    assert secret in html  # also shown for typing in by hand
    response = client.post(reverse("mfa_activate_totp"), {"code": rfc6238_code(secret)})
    assert response.status_code == 302, response.content.decode()
    return secret


def test_enrolment_then_sign_in_with_a_totp_code(sales_rep) -> None:
    client = Client()
    assert _sign_in(client, sales_rep).status_code == 302
    secret = _enrol(client)
    assert Authenticator.objects.filter(user=sales_rep, type=Authenticator.Type.TOTP).exists()
    # Recovery codes come with the first authenticator.
    assert Authenticator.objects.filter(
        user=sales_rep, type=Authenticator.Type.RECOVERY_CODES
    ).exists()

    client.post(reverse("account_logout"))
    response = _sign_in(client, sales_rep)
    # The password alone is not enough: allauth asks for the second factor.
    assert response.status_code == 302
    assert response.url == reverse("mfa_authenticate")
    assert client.get("/").status_code == 302

    page = client.get(reverse("mfa_authenticate"))
    assert page.status_code == 200
    assert 'class="card narrow auth"' in page.content.decode()
    response = client.post(reverse("mfa_authenticate"), {"code": rfc6238_code(secret)})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_a_wrong_or_stale_code_does_not_sign_in(sales_rep) -> None:
    client = Client()
    _sign_in(client, sales_rep)
    secret = _enrol(client)
    client.post(reverse("account_logout"))

    _sign_in(client, sales_rep)
    stale = rfc6238_code(secret, at=time.time() - 600)
    response = client.post(reverse("mfa_authenticate"), {"code": stale})
    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    assert client.get("/").status_code == 302


def test_a_recovery_code_signs_in_once(sales_rep) -> None:
    client = Client()
    _sign_in(client, sales_rep)
    _enrol(client)
    codes = client.get(reverse("mfa_view_recovery_codes")).context["unused_codes"]
    client.post(reverse("account_logout"))

    _sign_in(client, sales_rep)
    assert client.post(reverse("mfa_authenticate"), {"code": codes[0]}).status_code == 302
    assert client.get("/").status_code == 200
    client.post(reverse("account_logout"))

    _sign_in(client, sales_rep)
    reused = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert reused.status_code == 200
    assert client.get("/").status_code == 302


def test_admin_login_asks_for_the_second_factor_too(admin_user) -> None:
    client = Client()
    _sign_in(client, admin_user)
    secret = _enrol(client)
    client.post(reverse("account_logout"))

    response = _sign_in(client, admin_user, next="/admin/")
    assert response.url == reverse("mfa_authenticate")
    assert client.get("/admin/").status_code == 302
    response = client.post(reverse("mfa_authenticate"), {"code": rfc6238_code(secret)})
    assert response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_two_factor_page_is_styled_as_an_account_page(client, sales_rep) -> None:
    client.force_login(sales_rep)
    html = client.get(reverse("mfa_index")).content.decode()
    assert 'class="account-nav"' in html
    assert 'aria-current="page">Two-factor authentication' in html


# --- requiring two-factor of admins -------------------------------------------------------------


@pytest.fixture
def mfa_required_for_admins(settings) -> None:
    settings.REQUIRE_MFA_FOR_ADMINS = True


@pytest.mark.usefixtures("mfa_required_for_admins")
def test_admin_without_mfa_is_sent_to_enrolment_everywhere_but_sign_in_pages(admin_user) -> None:
    client = Client()
    _sign_in(client, admin_user)
    for path in ("/", "/admin/", reverse("admin:accounts_user_changelist")):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.url == reverse("mfa_activate_totp"), path
    # allauth's own pages stay reachable: enrolment, account pages, sign-out.
    assert client.get(reverse("mfa_index")).status_code == 200
    assert client.get(reverse("account_change_password")).status_code == 200

    _enrol(client)
    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code == 200


@pytest.mark.usefixtures("mfa_required_for_admins")
def test_the_policy_leaves_other_roles_alone(client, sales_rep, manager) -> None:
    for user in (sales_rep, manager):
        client.force_login(user)
        assert client.get("/").status_code == 200


@pytest.mark.usefixtures("mfa_required_for_admins")
def test_an_admin_cannot_remove_their_authenticator_app_under_the_policy(admin_user) -> None:
    client = Client()
    _sign_in(client, admin_user)
    _enrol(client)
    response = client.post(reverse("mfa_deactivate_totp"))
    assert Authenticator.objects.filter(user=admin_user, type=Authenticator.Type.TOTP).exists()
    assert response.status_code in (200, 302)


def test_without_the_policy_an_admin_may_use_the_site_without_mfa(client, admin_user) -> None:
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200
