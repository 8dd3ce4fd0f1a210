"""Global search's fenced full-text tier (crm.selectors.search._fenced_hits): the matches are
read first and tested for visibility; when the fence stops at FENCE_SCAN matches with too few
visible, the plain query answers, so a user never misses their own matches."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from crm.factories import ContactFactory
from crm.models import Contact
from crm.selectors.search import global_search

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fence_every_table(monkeypatch) -> None:
    # Only a table of FENCE_FROM_ROWS rows is read fenced; these tests' tables are small.
    monkeypatch.setattr("crm.selectors.search.FENCE_FROM_ROWS", 0)


def _hits(results, key="contacts"):
    return sorted(h.title for g in results.groups if g.key == key for h in g.hits)


def _make(owner: User, n: int, last: str) -> None:
    for i in range(n):
        ContactFactory(owner=owner, first_name=f"Zed{i:02d}", last_name=last)


def _searched(user: Any, query: str) -> tuple[list[str], list[str]]:
    """The contacts found, and the SQL of every query the search ran."""
    with CaptureQueriesContext(connection) as queries:
        results = global_search(user=user, query=query)
    return _hits(results), [q["sql"] for q in queries.captured_queries]


def test_hidden_matches_never_show_and_own_ones_do(sales_rep, outsider, monkeypatch) -> None:
    monkeypatch.setattr("crm.selectors.search.FENCE_SCAN", 50)
    _make(outsider, 8, "Quarrier")
    _make(sales_rep, 3, "Quarrier")
    assert _hits(global_search(user=sales_rep, query="quarr")) == [
        "Zed00 Quarrier",
        "Zed01 Quarrier",
        "Zed02 Quarrier",
    ]
    assert len(_hits(global_search(user=outsider, query="quarr"))) == 5  # its best five


def test_a_fence_cut_short_falls_back_to_the_plain_query(sales_rep, outsider, monkeypatch) -> None:
    # The fence reads 4 matches; the rep's own ones may all lie beyond them (the text
    # index's order is not ours to choose): the plain query must still find them.
    monkeypatch.setattr("crm.selectors.search.FENCE_SCAN", 4)
    _make(outsider, 12, "Quillon")
    _make(sales_rep, 2, "Quillon")
    hits, sql = _searched(sales_rep, "quill")
    assert hits == ["Zed00 Quillon", "Zed01 Quillon"]
    plain = [q for q in sql if "fence_n" not in q]
    assert any('"crm_contact"' in q and "search_rank" in q for q in plain)


def test_a_complete_fence_needs_no_second_query(sales_rep, outsider, monkeypatch) -> None:
    monkeypatch.setattr("crm.selectors.search.FENCE_SCAN", 1000)
    _make(outsider, 6, "Quokkan")
    _make(sales_rep, 2, "Quokkan")
    hits, sql = _searched(sales_rep, "quokk")
    assert hits == ["Zed00 Quokkan", "Zed01 Quokkan"]
    contact_queries = [q for q in sql if 'FROM "crm_contact"' in q]
    assert len(contact_queries) == 1 and "fence_n" in contact_queries[0]


def test_a_small_table_is_searched_plain(
    sales_rep, outsider, monkeypatch, settle_statistics
) -> None:
    # Below FENCE_FROM_ROWS the visible rows' bitmap is cheap: no fence, the same hits.
    _make(outsider, 6, "Quokkan")
    _make(sales_rep, 2, "Quokkan")
    settle_statistics(Contact)
    monkeypatch.setattr("crm.selectors.search.FENCE_FROM_ROWS", 10**9)
    hits, sql = _searched(sales_rep, "quokk")
    assert hits == ["Zed00 Quokkan", "Zed01 Quokkan"]
    assert not any("fence_n" in q for q in sql)
    # The table sizes are read once, then kept: a second search asks only for its hits.
    _, again = _searched(sales_rep, "quokk")
    assert not any("pg_class" in q for q in again) and any("pg_class" in q for q in sql)

    monkeypatch.setattr("crm.selectors.search.FENCE_FROM_ROWS", 1)  # analysed: about 8 rows
    _, sql = _searched(sales_rep, "quokk")
    assert any("fence_n" in q for q in sql if 'FROM "crm_contact"' in q)


@pytest.mark.parametrize("fenced", [True, False], ids=["fenced", "plain"])
def test_whole_words_are_read_before_prefixes(sales_rep, monkeypatch, fenced) -> None:
    # A tier ranks only its first CANDIDATES matches; the whole word typed ("ada", a last
    # name here) must be among them even when prefix matches ("Adaline") come before it in
    # whatever order the plan reads (by insertion, by name or by date: they lie on both
    # sides), and it ranks first, once.
    monkeypatch.setattr("crm.selectors.search.CANDIDATES", 3)
    if not fenced:
        monkeypatch.setattr("crm.selectors.search.FENCE_FROM_ROWS", 10**9)
    for last in ("Aaron", "Ada", "Zulu"):
        names = ["Mid"] if last == "Ada" else ["Adaline", "Adalia", "Adalyn", "Adalee"]
        for first in names:
            ContactFactory(owner=sales_rep, first_name=first, last_name=last)
    hits, sql = _searched(sales_rep, "ada")
    assert "Mid Ada" in hits and len(hits) == len(set(hits))
    results = global_search(user=sales_rep, query="ada")
    contacts = next(g for g in results.groups if g.key == "contacts")
    assert contacts.hits[0].title == "Mid Ada"
    assert any("fence_n" in q for q in sql if 'FROM "crm_contact"' in q) is fenced


def test_whole_words_read_first_still_say_the_fence_was_cut_short(
    sales_rep, outsider, monkeypatch
) -> None:
    # The fence reads whole-word matches, then the other matches: here its FENCE_SCAN-th row
    # is the rep's own whole-word match, and the rep's prefix matches lie beyond it. The
    # fence must say it stopped there, so that the plain query looks for them.
    monkeypatch.setattr("crm.selectors.search.FENCE_SCAN", 4)
    ContactFactory(owner=outsider, first_name="Bob", last_name="Quell")
    ContactFactory(owner=outsider, first_name="Cy", last_name="Quell")
    ContactFactory(owner=outsider, first_name="Di", last_name="Quell")
    ContactFactory(owner=sales_rep, first_name="Ann", last_name="Quell")
    _make(outsider, 3, "Quellmann")
    _make(sales_rep, 2, "Quellmann")
    hits, sql = _searched(sales_rep, "quell")
    assert hits == ["Ann Quell", "Zed00 Quellmann", "Zed01 Quellmann"]
    assert any("fence_n" not in q and "search_rank" in q for q in sql if "crm_contact" in q)


@pytest.mark.parametrize("fenced", [True, False], ids=["fenced", "plain"])
def test_whole_words_read_first_leave_room_for_every_other_match(
    sales_rep, monkeypatch, fenced
) -> None:
    # Four whole-word matches and one prefix match, six candidates: all five are ranked (the
    # second branch repeats none of the first's rows, which would take the places left).
    monkeypatch.setattr("crm.selectors.search.CANDIDATES", 6)
    if not fenced:
        monkeypatch.setattr("crm.selectors.search.FENCE_FROM_ROWS", 10**9)
    for i in range(4):
        ContactFactory(owner=sales_rep, first_name=f"Mid{i}", last_name="Ada")
    ContactFactory(owner=sales_rep, first_name="Adaline", last_name="Zulu")
    hits, _ = _searched(sales_rep, "ada")
    assert hits == ["Adaline Zulu", "Mid0 Ada", "Mid1 Ada", "Mid2 Ada", "Mid3 Ada"]


@pytest.mark.parametrize(
    ("scan", "cut_short"), [(50, False), (4, True)], ids=["complete", "cut-short"]
)
@pytest.mark.parametrize(
    ("query", "tier_sql"),
    # One edit from "quarrier": corrected by the dictionary, found by the full-text index.
    # Three edits: nothing close in the dictionary, the trigram tier's word similarity.
    [("Quarier", "to_tsquery('simple'::regconfig, "), ("Kwarier", "%>")],
    ids=["corrected", "trigram"],
)
def test_the_typo_tier_is_fenced_too(
    sales_rep, outsider, monkeypatch, scan, cut_short, query, tier_sql
) -> None:
    # A typo: no word matches, the typo tier runs, fenced on a big table. What it passes over
    # stays hidden; cut short (its FENCE_SCAN-th match read, too few visible) the plain query
    # answers too.
    monkeypatch.setattr("crm.selectors.search.FENCE_SCAN", scan)
    _make(outsider, 12, "Quarrier")
    _make(sales_rep, 2, "Quarrier")
    hits, sql = _searched(sales_rep, query)
    assert hits == ["Zed00 Quarrier", "Zed01 Quarrier"]
    typo = [q for q in sql if 'FROM "crm_contact"' in q and tier_sql in q]
    assert any("fence_n" in q for q in typo)
    assert any("fence_n" not in q for q in typo) is cut_short
