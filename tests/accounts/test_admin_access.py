"""Django admin is for role=admin users only, whatever the staff box says."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import RequestFactory

from accounts.admin_site import MinicrmAdminSite
from accounts.factories import UserFactory
from accounts.models import User

pytestmark = pytest.mark.django_db


def test_the_default_admin_site_is_minicrms() -> None:
    assert isinstance(admin.site, MinicrmAdminSite)


def test_admin_reaches_the_admin(client, admin_user) -> None:
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/crm/company/").status_code == 200


@pytest.mark.parametrize("persona", ["sales_rep", "manager"])
def test_managers_and_sales_never_reach_the_admin(client, persona, request) -> None:
    client.force_login(request.getfixturevalue(persona))
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert client.get("/admin/crm/company/", follow=True).status_code == 403
    assert client.get("/admin/accounts/user/", follow=True).status_code == 403


@pytest.mark.parametrize("role", [User.Role.SALES, User.Role.MANAGER])
def test_a_staff_flag_on_another_role_still_gives_no_admin_access(role) -> None:
    # However the flag got there (the database refuses it; see below), the site checks roles.
    user = User(email="x@example.com", role=role, is_staff=True, is_superuser=True)
    request = RequestFactory().get("/admin/")
    request.user = user
    assert not admin.site.has_permission(request)


def test_an_inactive_admin_has_no_admin_access(admin_user) -> None:
    admin_user.is_active = False
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    assert not admin.site.has_permission(request)


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
@pytest.mark.parametrize("role", [User.Role.SALES, User.Role.MANAGER])
def test_ticking_staff_for_another_role_is_a_form_error(flag, role, sales_rep) -> None:
    sales_rep.role = role
    setattr(sales_rep, flag, True)
    with pytest.raises(ValidationError) as excinfo:
        sales_rep.full_clean()
    assert flag in excinfo.value.message_dict


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
def test_the_database_refuses_staff_on_another_role(flag, sales_rep) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=sales_rep.pk).update(**{flag: True})


def test_the_admin_role_brings_staff_and_superuser(sales_rep) -> None:
    sales_rep.role = User.Role.ADMIN
    sales_rep.full_clean()
    assert sales_rep.is_staff and sales_rep.is_superuser


def test_create_user_cannot_make_a_staff_sales_rep() -> None:
    with pytest.raises(ValidationError):
        User.objects.create_user("staff.rep@example.com", "a-long-pass-phrase", is_staff=True)


def test_demoting_an_admin_through_the_admin_form_needs_the_flags_cleared(
    client, admin_user
) -> None:
    other_admin = UserFactory(admin=True, email="second.admin@example.com")
    client.force_login(admin_user)
    url = f"/admin/accounts/user/{other_admin.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {
        key: value
        for key, value in form.initial.items()
        if value is not None and key not in ("password", "groups", "user_permissions")
    }
    data.update(role="sales", team="", is_staff="on", is_superuser="on", is_active="on")
    response = client.post(url, data)
    assert response.status_code == 200  # the form again, with errors
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"is_staff", "is_superuser"}, errors
    other_admin.refresh_from_db()
    assert other_admin.role == User.Role.ADMIN


def test_creating_an_admin_in_the_admin_gives_staff_access(client, admin_user) -> None:
    client.force_login(admin_user)
    password = "a-long-pass-phrase-5"
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "new.admin@example.com",
            "name": "New Admin",
            "role": "admin",
            "usable_password": "true",
            "password1": password,
            "password2": password,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = User.objects.get(email="new.admin@example.com")
    assert created.is_staff and created.is_superuser


def test_refusals_use_the_apps_403_page(client, sales_rep) -> None:
    client.force_login(sales_rep)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    html = response.content.decode()
    assert "You can't do that" in html
    assert "/static/css/app.css" in html


def test_unknown_pages_use_the_apps_404_page_and_say_the_same_for_hidden_ones(
    client, sales_rep
) -> None:
    client.force_login(sales_rep)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "nothing you have access to" in response.content.decode()
