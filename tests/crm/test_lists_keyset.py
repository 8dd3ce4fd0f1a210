"""Keyset pages: every row exactly once, forwards and backwards, whatever the sort."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.urls import reverse

from crm.factories import CompanyFactory, DealFactory
from crm.models import Company, Deal

pytestmark = pytest.mark.django_db


def _walk(client, key: str, params: dict) -> tuple[list, list]:
    """Follow Next to the end, then Previous back to the start: the pks of each direction."""
    url = reverse(f"crm:{key}.list")
    forward, pages = [], []
    response = client.get(url, params)
    while True:
        page = response.context["page"]
        pages.append(page)
        forward += [row.pk for row in page.rows]
        if not page.next_cursor:
            break
        response = client.get(url, {**params, "after": page.next_cursor})
    backward: list = []
    page = pages[-1]
    while page.prev_cursor:
        response = client.get(url, {**params, "before": page.prev_cursor})
        page = response.context["page"]
        backward = [row.pk for row in page.rows] + backward
    backward += [row.pk for row in pages[-1].rows]
    return forward, backward


@pytest.mark.parametrize("sort", ["-updated", "name", "-name", "status", "owner", "-created"])
def test_pages_cover_every_company_once_in_order(login, sales_rep, teammate, sort) -> None:
    # Few distinct names, statuses and owners: most rows tie on the sort value, so the
    # primary key tie-breaker decides where each page (of the smallest size, 25) ends.
    for i in range(53):
        owner = sales_rep if i % 2 else teammate
        status = random.choice(["active", "inactive"])
        CompanyFactory(owner=owner, shared_with_team=True, name=f"Co {i % 4}", status=status)

    forward, backward = _walk(login(sales_rep), "company", {"sort": sort, "per_page": 25})

    expected = list(Company.objects.visible_to(sales_rep).values_list("pk", flat=True))
    assert len(forward) == len(expected) == 53
    assert len(set(forward)) == len(forward)  # no duplicates
    assert set(forward) == set(expected)  # no gaps
    assert backward == forward  # previous pages give the same rows in the same order


@pytest.mark.parametrize("sort", ["close", "-close", "amount", "-amount", "company"])
def test_pages_over_a_nullable_sort_keep_nulls_last_and_lose_nothing(
    login, sales_rep, sort
) -> None:
    for i in range(60):
        close = None if i % 3 == 0 else dt.date(2030, 1, 1) + dt.timedelta(days=i % 5)
        company = CompanyFactory(owner=sales_rep, name=f"Co {i % 7}") if i % 4 else None
        DealFactory(owner=sales_rep, expected_close_date=close, company=company)
    forward, backward = _walk(login(sales_rep), "deal", {"sort": sort, "per_page": 25})

    assert len(forward) == len(set(forward)) == Deal.objects.count() == 60
    assert backward == forward
    if sort.endswith("close"):
        closes = dict(Deal.objects.values_list("pk", "expected_close_date"))
        values = [closes[pk] for pk in forward]
        assert all(v is None for v in values[-20:])  # unknown close dates come last


def test_a_cursor_made_for_another_sort_starts_from_the_first_page(login, sales_rep) -> None:
    for i in range(30):
        CompanyFactory(owner=sales_rep, name=f"Co {i:02d}")
    client = login(sales_rep)
    url = reverse("crm:company.list")
    cursor = client.get(url, {"sort": "name", "per_page": 25}).context["page"].next_cursor

    response = client.get(url, {"sort": "-name", "per_page": 25, "after": cursor})

    assert response.status_code == 200
    assert str(response.context["page"].rows[0]) == "Co 29"


def test_a_tampered_cursor_is_ignored(login, sales_rep) -> None:
    for i in range(30):
        CompanyFactory(owner=sales_rep, name=f"Co {i:02d}")
    client = login(sales_rep)
    url = reverse("crm:company.list")
    cursor = client.get(url, {"sort": "name", "per_page": 25}).context["page"].next_cursor

    response = client.get(url, {"sort": "name", "per_page": 25, "after": cursor[:-2] + "xx"})

    assert response.status_code == 200
    assert str(response.context["page"].rows[0]) == "Co 00"


def test_next_page_link_keeps_the_filters(login, sales_rep) -> None:
    for i in range(30):
        CompanyFactory(owner=sales_rep, name=f"Co {i:02d}", type="partner")
    response = login(sales_rep).get(
        reverse("crm:company.list"), {"type": "partner", "sort": "name", "per_page": 25}
    )

    assert b'rel="next" href="?type=partner&amp;sort=name&amp;per_page=25&amp;after=' in (
        response.content
    )
