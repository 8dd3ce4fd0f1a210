"""Django admin for users (email login) and teams."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.factories import TeamFactory, UserFactory
from accounts.models import Team, User


def test_users_and_teams_are_registered() -> None:
    assert User in admin.site._registry
    assert Team in admin.site._registry


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "make"),
    [(User, lambda: UserFactory(name="Grace Hopper")), (Team, lambda: TeamFactory(name="EMEA"))],
    ids=["User", "Team"],
)
def test_admin_pages_render_with_data(admin_client, model, make) -> None:
    obj = make()
    name = f"admin:accounts_{model._meta.model_name}"

    assert admin_client.get(reverse(f"{name}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"{name}_add")).status_code == 200
    assert admin_client.get(reverse(f"{name}_change", args=[obj.pk])).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [3, 30])
def test_user_changelist_queries_do_not_grow_with_users(
    admin_client, django_assert_max_num_queries, request_queries: int, rows: int
) -> None:
    team = TeamFactory()
    UserFactory.create_batch(rows, team=team)

    # Two counts (filtered and total: users are few), the page, the team filter's choices; no
    # query per row's team.
    with django_assert_max_num_queries(request_queries + 4):
        response = admin_client.get(reverse("admin:accounts_user_changelist"))
    assert response.context["cl"].result_count == rows + 1  # the admin signed in


@pytest.mark.django_db
def test_admin_creates_a_user_by_email_with_a_password(admin_client) -> None:
    team = TeamFactory(name="Sales EU")

    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "role": User.Role.MANAGER,
            "team": str(team.pk),
            "usable_password": "true",
            "password1": "analytical-engine-1843",
            "password2": "analytical-engine-1843",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="ada@example.com")
    assert (user.name, user.role, user.team) == ("Ada Lovelace", User.Role.MANAGER, team)
    assert user.check_password("analytical-engine-1843")


@pytest.mark.django_db
def test_email_differing_only_in_case_is_a_field_error(admin_client) -> None:
    UserFactory(email="grace@example.com")

    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "Grace@Example.com",
            "role": User.Role.SALES,
            "usable_password": "true",
            "password1": "cobol-compiler-1959",
            "password2": "cobol-compiler-1959",
        },
    )

    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert User.objects.filter(email__iexact="grace@example.com").count() == 1


@pytest.mark.django_db
def test_team_page_lists_its_members(admin_client) -> None:
    team = TeamFactory(name="Nordics")
    UserFactory(email="sven@example.com", team=team)
    UserFactory(email="other@example.com")

    response = admin_client.get(reverse("admin:accounts_team_change", args=[team.pk]))

    assert b"sven@example.com" in response.content
    assert b"other@example.com" not in response.content
    changelist = admin_client.get(reverse("admin:accounts_team_changelist"))
    counts = {t.name: t.member_count for t in changelist.context["cl"].result_list}
    assert counts["Nordics"] == 1
