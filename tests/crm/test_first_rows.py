"""crm.fence.first_rows: the first rows of an ordered, filtered query, read by a short walk of
the order when it finds them and by bitmaps when matches are rare at the head of the order,
always exactly the rows the plain query gives. HEAD_SCAN is made small here so a few dozen
contacts play the million-row cases: matches dense at the head, sparse there, and the trap
(the first rows of the order all match but belong to someone the user may not see)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Value
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import factories as f
from crm import permissions
from crm.fence import bitmap_scans_only, first_rows, planner_settings
from crm.models import Contact
from crm.search import SearchTerm
from crm.selectors.autocomplete import record_autocomplete

pytestmark = pytest.mark.django_db

BITMAPS = "set_config('enable_indexscan', 'off', true)"


def _contacts(owners: list[Any], start: int, *, match: bool) -> None:
    """One contact per owner in turn, named so their name order is their creation order."""
    for i, owner in enumerate(owners):
        domain = "acmecorp.example" if match else "other.example"
        f.ContactFactory(
            owner=owner, last_name=f"N{start + i:03d}", email=f"p{start + i}@{domain}"
        )


def _matching(user: Any) -> Any:
    rows = permissions.visible_to(user, Contact.objects.all())
    return rows.filter(search_text__contains=SearchTerm(Value("acmecorp"))).order_by(
        "last_name", "pk"
    )


def _read(rows: Any, limit: int) -> tuple[list[Any], str]:
    """first_rows' answer as keys, and how it got there."""
    with CaptureQueriesContext(connection) as queries:
        keys = [row.pk for row in first_rows(rows, limit)]
    sql = [q["sql"] for q in queries]
    if any(BITMAPS in s for s in sql):
        return keys, "bitmaps"
    walked_then_fetched = sum(s.startswith("WITH") for s in sql) == 1 and len(sql) >= 2
    return keys, "walk" if walked_then_fetched and '"id" IN (' in sql[-1] else "plain"


@pytest.fixture
def small_scan(monkeypatch):
    monkeypatch.setattr("crm.fence.HEAD_SCAN", 10)
    monkeypatch.setattr("crm.fence.WALK_LIMIT", 40)


def test_matches_dense_at_the_head_are_read_by_the_walk(small_scan, sales_rep, outsider):
    _contacts([sales_rep] * 8, 0, match=True)
    _contacts([outsider] * 20, 8, match=True)
    keys, how = _read(_matching(sales_rep), 5)
    assert how == "walk"
    assert keys == list(_matching(sales_rep).values_list("pk", flat=True)[:5])


def test_matches_sparse_at_the_head_fall_back_to_the_plain_query(small_scan, sales_rep, outsider):
    # 3 of the first 10 names are the rep's matches: 5 rows fill within 40 at that rate.
    _contacts([sales_rep, outsider, outsider] * 3 + [outsider], 0, match=True)
    _contacts([sales_rep] * 6, 10, match=True)
    keys, how = _read(_matching(sales_rep), 5)
    assert how == "plain"
    assert keys == list(_matching(sales_rep).values_list("pk", flat=True)[:5])
    assert len(keys) == 5


def test_the_trap_hidden_matches_at_the_head_is_read_by_bitmaps(small_scan, sales_rep, outsider):
    # The first 30 names all match and are the outsider's: a walk would read every one.
    _contacts([outsider] * 30, 0, match=True)
    _contacts([sales_rep] * 3, 30, match=False)
    _contacts([sales_rep] * 4, 33, match=True)
    keys, how = _read(_matching(sales_rep), 5)
    assert how == "bitmaps"
    assert keys == list(_matching(sales_rep).values_list("pk", flat=True)) and len(keys) == 4


def test_nothing_matching_by_construction_is_an_empty_answer(sales_rep):
    assert first_rows(Contact.objects.none().order_by("pk"), 5) == []


def test_the_rows_keep_what_the_queryset_selects(small_scan, sales_rep):
    _contacts([sales_rep] * 6, 0, match=True)
    rows = first_rows(_matching(sales_rep).select_related("owner"), 3)
    with CaptureQueriesContext(connection) as queries:
        assert [row.owner.email for row in rows] == [sales_rep.email] * 3
    assert len(queries) == 0


@pytest.mark.parametrize("persona", ["sales_rep", "outsider", "manager"])
def test_a_searched_list_pages_through_exactly_the_visible_matches(
    persona, small_scan, login, sales_rep, outsider, manager
) -> None:
    # Interleaved in the list's order (newest first): runs of the outsider's matches, the
    # rep's matches, and non-matches, so pages are read by each of the three ways.
    for block in range(4):
        _contacts([outsider] * 12, block * 30, match=True)
        _contacts([sales_rep] * 9, block * 30 + 12, match=True)
        _contacts([sales_rep] * 9, block * 30 + 21, match=False)
    user = {"sales_rep": sales_rep, "outsider": outsider, "manager": manager}[persona]
    expected = list(
        permissions.visible_to(user, Contact.objects.all())
        .filter(email__contains="acmecorp")
        .order_by("-updated_at", "-pk")
        .values_list("pk", flat=True)
    )
    client = login(user)
    seen: list[Any] = []
    params: dict[str, Any] = {"q": "acmecorp", "per_page": 25}
    while True:
        page = client.get(reverse("crm:contact.list"), params).context["page"]
        seen += [row.pk for row in page.rows]
        if not page.next_cursor:
            break
        params["after"] = page.next_cursor
    assert seen == expected
    # And back from the last page: the previous pages hold the same rows.
    back = [row.pk for row in page.rows]
    params = {"q": "acmecorp", "per_page": 25, "before": page.prev_cursor}
    while params["before"]:
        page = client.get(reverse("crm:contact.list"), params).context["page"]
        back = [row.pk for row in page.rows] + back
        params["before"] = page.prev_cursor
    assert back == expected


def test_autocomplete_finds_the_visible_matches_behind_hidden_ones(
    small_scan, sales_rep, outsider
):
    _contacts([outsider] * 30, 0, match=True)
    _contacts([sales_rep] * 3, 30, match=True)
    options = record_autocomplete(user=sales_rep, entity="contact", query="acmecorp")
    assert [o.label for o in options] == [
        str(c) for c in Contact.objects.filter(owner=sales_rep).order_by("last_name")
    ]


def test_planner_settings_end_with_the_block_inside_a_transaction():
    def setting(name: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting(%s)", [name])
            return cursor.fetchone()[0]

    with transaction.atomic():
        with bitmap_scans_only():
            assert (setting("enable_indexscan"), setting("enable_seqscan")) == ("off", "off")
        assert (setting("enable_indexscan"), setting("enable_seqscan")) == ("on", "on")
        with planner_settings(max_parallel_workers_per_gather="0"):
            assert setting("max_parallel_workers_per_gather") == "0"
        assert setting("max_parallel_workers_per_gather") != "0"


def test_querysets_it_cannot_walk_are_read_the_plain_way(small_scan, sales_rep, outsider):
    _contacts([outsider] * 12, 0, match=True)
    _contacts([sales_rep] * 6, 12, match=True)
    plain = list(_matching(sales_rep).values_list("pk", flat=True)[:4])
    # An order from Meta.ordering only, DISTINCT, an already sliced queryset.
    implicit = _matching(sales_rep).order_by()
    implicit.query.default_ordering = True
    assert [c.pk for c in first_rows(implicit, 4)] == list(
        implicit.values_list("pk", flat=True)[:4]
    )
    assert [c.pk for c in first_rows(_matching(sales_rep).distinct(), 4)] == plain
    assert [c.pk for c in first_rows(_matching(sales_rep)[:3], 4)] == plain[:3]
