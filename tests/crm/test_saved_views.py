"""Saved views: a user's named query strings per list, private to them."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.urls import reverse

from crm.factories import CompanyFactory
from crm.models import SavedView
from crm.services.saved_views import saved_view_create, saved_view_delete

pytestmark = pytest.mark.django_db


def _save(client, name: str, query: str, entity: str = "company"):
    return client.post(
        reverse("crm:savedview.create"), {"entity": entity, "name": name, "query": query}
    )


def test_saving_a_view_stores_the_query_without_the_page_position(login, sales_rep) -> None:
    response = _save(login(sales_rep), "Partners", "type=partner&sort=name&after=abc")

    view = SavedView.objects.get(owner=sales_rep)
    assert (view.entity, view.name) == ("company", "Partners")
    assert view.query == "type=partner&sort=name"
    assert response["Location"] == reverse("crm:company.list") + "?type=partner&sort=name"


def test_my_saved_views_are_listed_as_links_and_others_are_not(login, sales_rep, teammate) -> None:
    saved_view_create(user=sales_rep, entity="company", name="Mine", query="status=active")
    saved_view_create(user=teammate, entity="company", name="Theirs", query="status=inactive")
    saved_view_create(user=sales_rep, entity="deal", name="Deals view", query="status=open")
    CompanyFactory(owner=sales_rep)

    html = login(sales_rep).get(reverse("crm:company.list")).content.decode()

    assert 'href="/companies/?status=active"' in html
    assert "Theirs" not in html
    assert "Deals view" not in html


def test_saving_under_an_existing_name_replaces_the_query(sales_rep) -> None:
    first = saved_view_create(user=sales_rep, entity="company", name="Mine", query="a=1")
    again = saved_view_create(user=sales_rep, entity="company", name=" Mine ", query="b=2")

    assert again.pk == first.pk
    assert SavedView.objects.get().query == "b=2"


def test_a_view_needs_a_name_and_a_known_list(login, sales_rep) -> None:
    client = login(sales_rep)

    assert _save(client, "", "a=1").status_code == 302
    assert _save(client, "X", "a=1", entity="invoice").status_code == 400
    assert _save(client, "X", "a=1", entity="../admin").status_code == 400
    assert not SavedView.objects.exists()


def test_only_the_owner_deletes_a_view(login, sales_rep, teammate) -> None:
    view = saved_view_create(user=sales_rep, entity="company", name="Mine", query="a=1")
    url = reverse("crm:savedview.delete", args=[view.pk])

    assert login(teammate).post(url).status_code == 404  # like a record one may not see
    assert SavedView.objects.filter(pk=view.pk).exists()
    with pytest.raises(PermissionDenied):
        saved_view_delete(user=teammate, view=view)

    response = login(sales_rep).post(url)
    assert response.status_code == 302
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_saved_view_posts_need_csrf(sales_rep) -> None:
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(sales_rep)

    response = strict.post(reverse("crm:savedview.create"), {"entity": "company", "name": "X"})

    assert response.status_code == 403
    assert not SavedView.objects.exists()


def test_a_saved_view_with_stale_parameters_still_opens(login, sales_rep) -> None:
    view = saved_view_create(
        user=sales_rep, entity="company", name="Old", query="cf_gone=1&sort=removed&status=x"
    )
    CompanyFactory(owner=sales_rep)

    response = login(sales_rep).get(f"{reverse('crm:company.list')}?{view.query}")

    assert response.status_code == 200
    assert len(response.context["page"].rows) == 1


def test_saved_view_table_gets_the_audit_triggers(db) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'crm_savedview'::regclass "
            "AND tgname LIKE 'audit_%%'"
        )
        assert cursor.fetchone()[0] == 4  # installed by audit's post_migrate sync
