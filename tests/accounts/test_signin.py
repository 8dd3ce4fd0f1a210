"""Sign-in through allauth: login, logout, rate limits, password reset and change, sessions,
closed signup, deactivated users, and Django admin's login going through the same door."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.factories import DEFAULT_PASSWORD, UserFactory
from accounts.models import User

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def _login(client: Client, email: str, password: str = DEFAULT_PASSWORD, **extra: str):
    return client.post(LOGIN, {"login": email, "password": password, **extra})


def test_login_page_is_the_apps_page_and_offers_no_signup(client) -> None:
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sign in to minicrm" in html
    assert "/static/css/app.css" in html
    assert 'class="card narrow auth"' in html
    assert "created by your administrator" in html
    assert reverse("account_signup") not in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_sales_rep_signs_in_with_email_and_password_and_out_again(client, sales_rep) -> None:
    response = _login(client, "SALES.REP@example.com")  # emails match case-insensitively
    assert response.status_code == 302
    assert response.url == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Sally" in home.content.decode()

    assert client.post(reverse("account_logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused(client, sales_rep) -> None:
    response = _login(client, sales_rep.email, "not-the-password")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_failed_logins_for_one_address_are_rate_limited(client, sales_rep, settings) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "3/5m/key"}
    for _ in range(3):
        assert (
            "_auth_user_id"
            not in _login(client, sales_rep.email, "wrong-password").wsgi_request.session
        )
    # Past the limit even the right password is refused, for this address only.
    response = _login(client, sales_rep.email)
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_attempts_per_address_of_the_client_are_rate_limited(
    client, sales_rep, settings
) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "2/m/ip"}
    for _ in range(2):
        _login(client, "nobody@example.com", "whatever-password")
    assert _login(client, sales_rep.email).status_code == 429


def test_rate_limits_are_on_by_default_and_kept_in_the_shared_cache(settings) -> None:
    from allauth.account import app_settings

    assert app_settings.RATE_LIMITS["login_failed"]
    assert app_settings.RATE_LIMITS["reset_password"]
    assert app_settings.RATE_LIMITS["signup"]
    # Not a per-process cache: every gunicorn worker counts in the same place.
    backend = settings.CACHES["default"]["BACKEND"]
    assert backend in (
        "django.core.cache.backends.db.DatabaseCache",
        "django.core.cache.backends.redis.RedisCache",
    )


def test_the_cache_table_exists_after_migrate() -> None:
    from django.core.cache import cache

    cache.set("minicrm-test", "yes", 30)
    assert cache.get("minicrm-test") == "yes"


def test_password_reset_by_email_end_to_end(client, sales_rep) -> None:
    response = client.post(reverse("account_reset_password"), {"email": sales_rep.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[0].body)
    assert link, mail.outbox[0].body

    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    new_password = "a-brand-new-passphrase-42"
    done = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link.group(1),
        {"password1": new_password, "password2": new_password},
    )
    assert done.status_code == 302
    sales_rep.refresh_from_db()
    assert sales_rep.check_password(new_password)


def test_password_reset_for_unknown_address_sends_nothing_and_says_the_same(client) -> None:
    response = client.post(reverse("account_reset_password"), {"email": "ghost@example.com"})
    assert response.status_code == 302
    assert response.url == reverse("account_reset_password_done")


def test_password_change_applies_the_validators(client, sales_rep) -> None:
    client.force_login(sales_rep)
    url = reverse("account_change_password")
    page = client.get(url)
    assert page.status_code == 200
    assert 'class="account-nav"' in page.content.decode()

    weak = client.post(
        url, {"oldpassword": DEFAULT_PASSWORD, "password1": "password", "password2": "password"}
    )
    assert weak.status_code == 200
    assert "too common" in weak.content.decode() or "too short" in weak.content.decode()

    strong = "orange-kettle-violin-77"
    ok = client.post(
        url, {"oldpassword": DEFAULT_PASSWORD, "password1": strong, "password2": strong}
    )
    assert ok.status_code == 302
    sales_rep.refresh_from_db()
    assert sales_rep.check_password(strong)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "too short"),
        ("password123", "too common"),
        ("1234567890123", "entirely numeric"),
        ("sales.rep@example.com", "too similar"),
        ("Sally Rep!", "too similar"),
    ],
)
def test_password_validators_are_on(password, reason, sales_rep) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_password(password, user=sales_rep)
    assert reason in " ".join(excinfo.value.messages)


def test_sessions_list_and_signing_out_the_other_sessions(sales_rep) -> None:
    laptop, phone = Client(HTTP_USER_AGENT="Laptop"), Client(HTTP_USER_AGENT="Phone")
    _login(laptop, sales_rep.email)
    _login(phone, sales_rep.email)

    page = laptop.get(reverse("usersessions_list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Laptop" in html and "Phone" in html
    assert "Sign Out Other Sessions" in html

    laptop.post(reverse("usersessions_list"))
    assert phone.get("/").status_code == 302  # signed out
    assert laptop.get("/").status_code == 200  # still in


def test_signup_is_closed_by_default(client) -> None:
    response = client.get(reverse("account_signup"))
    assert "closed" in response.content.decode().lower()
    client.post(
        reverse("account_signup"),
        {
            "email": "new@example.com",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    assert not User.objects.filter(email="new@example.com").exists()


def test_a_setting_opens_signup(client, settings) -> None:
    settings.ACCOUNT_ALLOW_SIGNUP = True
    assert reverse("account_signup") in client.get(LOGIN).content.decode()
    password = "a-long-pass-phrase-9"
    response = client.post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": password, "password2": password},
    )
    assert response.status_code == 302
    new_user = User.objects.get(email="new@example.com")
    # Self-registered people are sales reps without staff access.
    assert new_user.role == User.Role.SALES and not new_user.is_staff


def test_a_deactivated_users_session_stops_working_at_once(client, sales_rep) -> None:
    _login(client, sales_rep.email)
    assert client.get("/").status_code == 200
    User.objects.filter(pk=sales_rep.pk).update(is_active=False)
    # ModelBackend.get_user() refuses inactive users on every request, so the live session
    # is worthless from the next request on.
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    # Nor can they sign in again.
    assert _login(client, sales_rep.email).url == reverse("account_inactive")
    assert client.get("/").status_code == 302


# --- Django admin signs in through allauth ----------------------------------------------------


def test_admin_login_redirects_to_allauths_login(client) -> None:
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == f"{LOGIN}?next=%2Fadmin%2F"
    assert "Sign in to minicrm" in response.content.decode()


def test_admins_own_login_form_never_accepts_a_password(client, admin_user) -> None:
    response = client.post(
        "/admin/login/", {"username": admin_user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    assert "_auth_user_id" not in client.session


def test_admin_signs_in_through_allauth_and_reaches_the_admin(client, admin_user) -> None:
    response = _login(client, admin_user.email, next="/admin/")
    assert response.status_code == 302
    assert response.url == "/admin/"
    assert client.get("/admin/").status_code == 200
    # Signed in already: the admin login page just forwards.
    assert client.get("/admin/login/?next=/admin/crm/").url == "/admin/crm/"
    # An off-site next is ignored.
    assert client.get("/admin/login/?next=https://evil.example/").url == "/admin/"


def test_admin_password_change_is_allauths(client, admin_user) -> None:
    client.force_login(admin_user)
    response = client.get(reverse("admin:password_change"))
    assert response.status_code == 302
    assert response.url == reverse("account_change_password")


def test_admin_login_is_rate_limited_like_any_login(client, admin_user, settings) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "2/5m/key"}
    for _ in range(2):
        _login(client, admin_user.email, "wrong-password", next="/admin/")
    response = _login(client, admin_user.email, next="/admin/")
    assert "Too many failed login attempts" in response.content.decode()


# --- escaping ---------------------------------------------------------------------------------

XSS = "<script>alert(1)</script>"


def test_a_name_with_markup_is_shown_as_text_on_the_home_page(client) -> None:
    user = UserFactory(name=XSS)
    client.force_login(user)
    html = client.get("/").content.decode()
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_markup_typed_into_the_login_form_is_echoed_as_text(client) -> None:
    html = _login(client, f"{XSS}@example.com", "whatever-password").content.decode()
    assert XSS not in html


def test_a_name_with_markup_is_shown_as_text_in_the_admin_user_list(client, admin_user) -> None:
    UserFactory(name=XSS, email="xss@example.com")
    client.force_login(admin_user)
    html = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "xss@example.com" in html
    assert XSS not in html
    assert "&lt;script&gt;" in html
