"""Global search reads names first for a one-word query (crm.selectors.search_branches,
whole_words_first; search_terms.names_starting): contacts and leads whose first, then last,
name starts with the word come from a name index in name order, before the full-text index's
other prefix matches.
Each row is read once, whole words still come first, and nothing else is lost."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.factories import ContactFactory, LeadFactory
from crm.models import Contact
from crm.search import name_starts
from crm.selectors.search import global_search
from crm.selectors.search_terms import one_word

pytestmark = pytest.mark.django_db

FENCED = pytest.mark.parametrize("fenced", [True, False], ids=["fenced", "plain"])


@pytest.fixture
def fenced_or_not(monkeypatch, fenced: bool) -> None:
    # These tests' tables are small: fenced only when told that every table is big enough.
    monkeypatch.setattr("crm.selectors.search.FENCE_FROM_ROWS", 0 if fenced else 10**9)


def _hits(user: Any, query: str, key: str = "contacts") -> list[str]:
    results = global_search(user=user, query=query)
    return [h.title for g in results.groups if g.key == key for h in g.hits]


@FENCED
def test_names_starting_with_the_word_come_before_other_prefix_matches(
    sales_rep, monkeypatch, fenced_or_not
) -> None:
    # Three candidates; two names start with "mar", three more contacts match 'mar':* only
    # by their email. Both names are ranked, whatever order the table holds them in.
    monkeypatch.setattr("crm.selectors.search.CANDIDATES", 3)
    for i in range(3):
        ContactFactory(
            owner=sales_rep, first_name=f"Zed{i}", last_name="Q", email=f"marx{i}@q.test"
        )
    ContactFactory(owner=sales_rep, first_name="Marta", last_name="Lind", email="a@q.test")
    ContactFactory(owner=sales_rep, first_name="Bo", last_name="Marlow", email="b@q.test")
    hits = _hits(sales_rep, "mar")
    assert {"Marta Lind", "Bo Marlow"} <= set(hits)
    assert len(hits) < 5  # the limit left some out (the fence reads one more than it ranks)


@FENCED
def test_a_row_both_of_whose_names_start_with_the_word_is_read_once(
    sales_rep, monkeypatch, fenced_or_not
) -> None:
    # Four matches, four candidates: were "Mark Marsh" read by both name branches, the
    # repeat would take the place of the email match, read last.
    monkeypatch.setattr("crm.selectors.search.CANDIDATES", 4)
    ContactFactory(owner=sales_rep, first_name="Mark", last_name="Marsh", email="m@q.test")
    ContactFactory(owner=sales_rep, first_name="Mara", last_name="Z", email="z@q.test")
    ContactFactory(owner=sales_rep, first_name="Zed", last_name="Marlow", email="w@q.test")
    ContactFactory(owner=sales_rep, first_name="Bob", last_name="Q", email="marx@q.test")
    assert sorted(_hits(sales_rep, "mar")) == ["Bob Q", "Mara Z", "Mark Marsh", "Zed Marlow"]


@FENCED
def test_a_whole_word_is_read_before_the_names_that_start_with_it(
    sales_rep, monkeypatch, fenced_or_not
) -> None:
    # Five first names start with "mar", the limit is three: "Zed Mar", whose last name is
    # the word itself, is read first and ranks first, once, though its last name's branch
    # would come after the first names'.
    monkeypatch.setattr("crm.selectors.search.CANDIDATES", 3)
    for i in range(5):
        ContactFactory(owner=sales_rep, first_name=f"Mara{i}", last_name="Lind")
    ContactFactory(owner=sales_rep, first_name="Zed", last_name="Mar")
    hits = _hits(sales_rep, "mar")
    assert hits[0] == "Zed Mar"
    assert len(hits) == len(set(hits)) < 6


@FENCED
def test_hidden_names_stay_hidden(sales_rep, outsider, fenced_or_not) -> None:
    ContactFactory(owner=outsider, first_name="Marek", last_name="Hidden")
    LeadFactory(owner=outsider, first_name="Marek", last_name="Hidden")
    ContactFactory(owner=sales_rep, first_name="Marek", last_name="Mine")
    LeadFactory(owner=sales_rep, first_name="Marek", last_name="Mine")
    assert _hits(sales_rep, "mare") == ["Marek Mine"]
    assert _hits(sales_rep, "mare", "leads") == ["Marek Mine"]


def test_accents_and_letter_case_are_ignored_both_ways(sales_rep) -> None:
    ContactFactory(owner=sales_rep, first_name="Mário", last_name="Lind")
    ContactFactory(owner=sales_rep, first_name="Zed", last_name="MARTÍNEZ")
    assert sorted(_hits(sales_rep, "mar")) == ["Mário Lind", "Zed MARTÍNEZ"]
    assert sorted(_hits(sales_rep, "MÁR")) == ["Mário Lind", "Zed MARTÍNEZ"]


def test_only_a_query_of_one_word_and_nothing_else_reads_names(sales_rep) -> None:
    assert one_word("joh") and one_word("Jöh")
    for query in ("jo h", "joh.", "o'brien", "ma%", "", "555"):
        assert not one_word(query)
    ContactFactory(owner=sales_rep, first_name="John", last_name="Lind")
    # Each shape of query is compiled once and kept (crm.kept): "john lind" after "joh" must
    # not reuse the one-word statement.
    for query, like in (("joh", True), ("john lind", False), ("joh.", False), ("lin", True)):
        with CaptureQueriesContext(connection) as queries:
            global_search(user=sales_rep, query=query)
        sql = " ".join(q["sql"] for q in queries.captured_queries if '"crm_contact"' in q["sql"])
        assert (" LIKE " in sql) is like, query


def test_like_characters_in_the_word_match_only_themselves(sales_rep) -> None:
    # "\w" words hold underscores: LIKE must read the word's "_" as itself, not as any letter.
    ContactFactory(owner=sales_rep, first_name="Ma_x", last_name="Lind")
    ContactFactory(owner=sales_rep, first_name="Maxi", last_name="Lind")
    found = Contact.objects.filter(name_starts("first_name", "ma_"))
    assert [c.first_name for c in found] == ["Ma_x"]
