"""Whatever is typed, search and autocomplete answer 200: no input becomes tsquery syntax
(unaccent turns the modifier letters U+02B9, U+02BB, U+02BC, U+02BD and U+02C8 into a quote
and U+0149 into 'n after the words were cut), and control characters (NUL, which PostgreSQL
text refuses) are dropped before any query."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import User
from crm import factories as f
from crm.selectors.autocomplete import record_autocomplete
from crm.selectors.search import global_search, normalise_query

pytestmark = pytest.mark.django_db

NASTY = [
    "Hawai\u02bbi",
    "\u02bbo",
    "\u02bb",
    "\u02bcn",
    "ŉ",
    "aŉb",
    "\u02b9\u02bd\u02c8",
    "o'brien",
    "'",
    "''",
    '"quoted"',
    "back\\slash",
    "\\",
    "\\'",
    "a & b | c",
    "!():*<>",
    "&|!():*<>",
    "x:* & !y",
    "a <-> b",
    "Ωμέγα",
    "Москва",
    "東京",
    "مرحبا",
    "😀",
    "a\x00b",
    "acme\x00",
    "\x00",
    "\x01\x1f\x7f",
    "%_",
]


@pytest.mark.parametrize("q", NASTY)
def test_search_answers_200_whatever_is_typed(login: Any, sales_rep: User, q: str) -> None:
    f.CompanyFactory(owner=sales_rep, name="Acme")
    client = login(sales_rep)
    url = reverse("crm:search")
    assert client.get(url, {"q": q}).status_code == 200
    assert client.get(url, {"q": q}, HTTP_HX_REQUEST="true").status_code == 200


@pytest.mark.parametrize("entity", ["company", "contact", "lead", "deal", "contract"])
@pytest.mark.parametrize("q", NASTY)
def test_autocomplete_answers_200_whatever_is_typed(
    login: Any, sales_rep: User, entity: str, q: str
) -> None:
    url = reverse("crm:autocomplete", args=[entity])
    assert login(sales_rep).get(url, {"q": q}).status_code == 200


def test_a_word_with_an_okina_still_finds_its_record(sales_rep: User) -> None:
    # No company of the factory's own for the contact: a random name with a word starting
    # "ha" ("Harris Ltd") is a typo match of "hawai'" and made the company list flaky.
    contact = f.ContactFactory(
        owner=sales_rep, first_name="Ka\u02bbiulani", last_name="Nui", company=None
    )
    company = f.CompanyFactory(owner=sales_rep, name="Hawai\u02bbi Tours")
    hits = global_search(user=sales_rep, query="ka\u02bbiu").groups
    assert [hit.url for g in hits for hit in g.hits] == [contact.get_absolute_url()]
    found = global_search(user=sales_rep, query="Hawai\u02bbi").groups
    assert company.get_absolute_url() in [hit.url for g in found for hit in g.hits]
    # Two characters: the prefix full-text branch; more: the substring branch.
    options = record_autocomplete(user=sales_rep, entity="company", query="Hawai\u02bb")
    assert [o.pk for o in options] == [company.pk]
    short = record_autocomplete(user=sales_rep, entity="contact", query="ka")
    assert [o.pk for o in short] == [contact.pk]


def test_an_apostrophe_n_finds_what_it_unaccents_to(sales_rep: User) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="'n Bietjie")
    hits = global_search(user=sales_rep, query="ŉ").groups
    assert company.get_absolute_url() in [hit.url for g in hits for hit in g.hits]


def test_operators_typed_are_searched_as_words_not_syntax(sales_rep: User) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Smith & Sons")
    f.CompanyFactory(owner=sales_rep, name="Jones Ltd")
    hits = global_search(user=sales_rep, query="smith & !sons").groups
    assert [hit.url for g in hits for hit in g.hits] == [company.get_absolute_url()]


def test_a_nul_byte_is_dropped_and_the_rest_still_searched(login: Any, sales_rep: User) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Acme")
    contract = f.ContractFactory(owner=sales_rep, title="Acme MSA")
    client = login(sales_rep)
    html = client.get(reverse("crm:search"), {"q": "acme\x00"}).content.decode()
    assert company.get_absolute_url() in html
    html = client.get(reverse("crm:autocomplete", args=["company"]), {"q": "acme\x00"})
    assert str(company.pk) in html.content.decode()
    html = client.get(reverse("crm:autocomplete", args=["contract"]), {"q": "\x00"})
    assert html.status_code == 200 and str(contract.pk) in html.content.decode()


def test_normalise_query_drops_control_characters() -> None:
    assert normalise_query("ac\x00me\t\x1f co\x7f ") == "ac me co"
    assert normalise_query("\x00") == ""
    assert normalise_query(None) == ""
