"""Queries compiled once per viewer's rules and run again with other keys (crm.kept): the same
rows as Django's own iterator, one compilation per key, and nothing kept that would be wrong."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import factories as f
from crm import kept, permissions
from crm import models as crm
from crm.selectors.panels import related_panels

pytestmark = pytest.mark.django_db


def _deals(owner):
    company = f.CompanyFactory(owner=owner)
    return [f.DealFactory(owner=owner, company=company) for _ in range(3)]


def _fields(obj):
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_kept_rows_are_django_s_rows_with_joins_and_annotations(sales_rep) -> None:
    deals = _deals(sales_rep)
    builds = []

    def build(key):
        builds.append(key)
        rows = permissions.visible_to(sales_rep, crm.Deal).filter(pk=key)
        return rows.select_related("stage", "company").annotate(label=Concat("name", Value("!")))

    for deal in deals:
        (got,) = kept.kept_rows(("test", sales_rep.pk), build, [deal.pk])
        (expected,) = build(deal.pk)
        assert _fields(got) == _fields(expected)
        assert got.label == f"{deal.name}!"
        with CaptureQueriesContext(connection) as ctx:  # joined rows came with it
            assert (got.stage.name, got.company.name) == (deal.stage.name, deal.company.name)
        assert ctx.captured_queries == []
        assert got._state.adding is False and got._state.db == "default"
    # Compiled once, with a marker (not one of the keys); every later call only ran it.
    compiled = [key for key in builds if key not in {d.pk for d in deals}]
    assert len(compiled) == 1 and len(kept.compiled) == 1


def test_a_key_outside_the_rows_rule_finds_nothing(sales_rep, outsider) -> None:
    (mine,) = _deals(sales_rep)[:1]
    theirs = f.DealFactory(owner=outsider)

    def build(key):
        return permissions.visible_to(sales_rep, crm.Deal).filter(pk=key)

    key = (permissions.rules_key(sales_rep), "deal")
    assert kept.kept_rows(key, build, [mine.pk]) == [mine]
    assert kept.kept_rows(key, build, [theirs.pk]) == []
    assert kept.kept_rows(key, build, [uuid.uuid4()]) == []


def test_a_key_that_reaches_the_sql_as_text_is_not_kept(sales_rep) -> None:
    deals = _deals(sales_rep)
    for deal in deals:
        deal.name = str(deal.pk)
        deal.save()

    def build(key):  # the key compared as text: a marker would be pasted in, not placed
        return crm.Deal.objects.annotate(text=F("name")).filter(text=Value(str(key)))

    for deal in deals:
        assert kept.kept_rows(("text",), build, [deal.pk]) == [deal]
    assert kept.compiled.values() == [kept._PLAIN]  # tried once, then run the plain way


def test_a_build_that_ignores_its_key_is_not_kept(sales_rep) -> None:
    deals = _deals(sales_rep)

    def build(key, deal):  # reads the real deal, not the key it is given: a slip to catch
        return crm.Deal.objects.filter(pk=deal.pk)

    for deal in deals:
        got = kept.kept_rows(("ignored",), lambda key, deal=deal: build(key, deal), [deal.pk])
        assert got == [deal]  # each its own, not the first deal's kept
    assert kept.compiled.values() == [kept._PLAIN]


def test_a_query_empty_by_construction_gives_no_rows(sales_rep) -> None:
    (deal,) = _deals(sales_rep)[:1]
    with CaptureQueriesContext(connection) as ctx:
        assert (
            kept.kept_rows(("empty",), lambda key: crm.Deal.objects.filter(pk__in=[]), [deal.pk])
            == []
        )
    assert ctx.captured_queries == []


def test_keys_that_are_not_uuids_are_run_the_plain_way(sales_rep) -> None:
    (deal,) = _deals(sales_rep)[:1]
    rows = kept.kept_rows(("plain",), lambda key: crm.Deal.objects.filter(pk=key), [str(deal.pk)])
    assert rows == [deal] and len(kept.compiled) == 0


def test_each_record_s_panels_show_its_own_rows(sales_rep, teammate) -> None:
    # The same kept SQL for every company of the same viewer: each page gets its own rows,
    # and a teammate (other rules) gets the rows their rules allow.
    first, second = f.CompanyFactory(owner=sales_rep), f.CompanyFactory(owner=sales_rep)
    mine = {
        c: [f.ContactFactory(owner=sales_rep, company=c) for _ in range(2)]
        for c in (first, second)
    }
    hidden = f.ContactFactory(owner=teammate, company=first)  # not shared with the team
    for company in (first, second, first):
        (contacts, *_) = related_panels(sales_rep, company, can_add=True)
        assert {row.pk for row in contacts.rows} == {c.pk for c in mine[company]}
        assert contacts.count == 2
    (contacts, *_) = related_panels(teammate, first, can_add=False)
    assert hidden.pk in {row.pk for row in contacts.rows}


def test_a_deal_s_contacts_follow_its_primary_contact(sales_rep) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    primary = f.ContactFactory(owner=sales_rep, company=company)
    with_primary = f.DealFactory(owner=sales_rep, company=company, primary_contact=primary)
    without = f.DealFactory(owner=sales_rep, company=company, primary_contact=None)
    linked = f.ContactFactory(owner=sales_rep, company=company)
    without.contacts.add(linked)
    for deal, expected in (
        (with_primary, {primary.pk}),
        (without, {linked.pk}),
        (with_primary, {primary.pk}),
    ):
        (contacts, *_) = related_panels(sales_rep, deal, can_add=True)
        assert {row.pk for row in contacts.rows} == expected


def test_a_detail_page_after_another_still_hides_what_the_user_may_not_see(
    login, sales_rep, outsider
) -> None:
    client = login(sales_rep)
    mine, theirs = f.CompanyFactory(owner=sales_rep), f.CompanyFactory(owner=outsider)
    assert client.get(reverse("crm:company.detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("crm:company.detail", args=[theirs.pk])).status_code == 404
    response = client.get(reverse("crm:company.detail", args=[mine.pk]))
    assert response.status_code == 200 and response.context["record"] == mine


def test_kept_sql_puts_each_call_s_text_in_its_places() -> None:
    built = []

    def build(query, word):
        built.append((query, word))
        return "SELECT %s::text, %s::text, %s::text", [query, word, query]

    assert kept.kept_sql(("t",), build, ["john smith", "john"]) == (
        "SELECT %s::text, %s::text, %s::text",
        ["john smith", "john", "john smith"],
    )
    assert kept.kept_sql(("t",), build, ["mary", "mary"])[1] == ["mary", "mary", "mary"]
    assert len(built) == 1 and built[0][0].startswith("k")  # compiled once, with markers


def test_kept_sql_keeps_nothing_of_text_pasted_into_the_sql() -> None:
    def build(query):
        return f"SELECT '{query}'", []

    assert kept.kept_sql(("pasted",), build, ["abc"]) == ("SELECT 'abc'", [])
    assert kept.kept_sql(("pasted",), build, ["xyz"]) == ("SELECT 'xyz'", [])
    assert kept.compiled.values() == [kept._PLAIN]


def test_one_user_s_searches_each_find_their_own_words(sales_rep, outsider) -> None:
    from crm.selectors.search import global_search

    f.CompanyFactory(owner=sales_rep, name="Acme Tools")
    f.CompanyFactory(owner=sales_rep, name="Globex West")
    f.CompanyFactory(owner=outsider, name="Globex Hidden")

    def titles(query):
        (companies, *_) = global_search(user=sales_rep, query=query).groups
        return [hit.title for hit in companies.hits]

    for _ in range(2):  # the second round runs the kept SQL of the first
        assert titles("acme") == ["Acme Tools"]
        assert titles("globex") == ["Globex West"]
        assert titles("globex we") == ["Globex West"]
        assert titles("glbex") == ["Globex West"]  # the typo tier
        assert titles("qqqq") == []


def test_values_and_prefetching_queries_are_not_kept(sales_rep) -> None:
    deals = _deals(sales_rep)
    rows = kept.kept_rows(
        ("values",), lambda key: crm.Deal.objects.filter(pk=key).values("name"), [deals[0].pk]
    )
    assert rows == [{"name": deals[0].name}]
    got = kept.kept_rows(
        ("prefetch",),
        lambda key: crm.Deal.objects.filter(pk=key).prefetch_related("contacts"),
        [deals[1].pk],
    )
    assert got == [deals[1]] and "contacts" in got[0]._prefetched_objects_cache
    assert kept.compiled.values() == [kept._PLAIN, kept._PLAIN]


def test_a_marker_inside_a_parameter_of_another_type_is_not_kept(sales_rep) -> None:
    deal = _deals(sales_rep)[0]
    deal.custom_fields = {"ref": str(deal.pk)}
    deal.save()

    def build(key):  # the key inside a JSON parameter
        return crm.Deal.objects.filter(custom_fields__contains={"ref": str(key)})

    assert kept.kept_rows(("json",), build, [deal.pk]) == [deal]
    assert kept.compiled.values() == [kept._PLAIN]


def test_a_panel_stand_in_holds_only_the_keys_its_rows_are_chosen_by(sales_rep) -> None:
    # Another field read by a panel would load it by the marker key and fail, not be kept.
    from crm.selectors import panels

    company = f.CompanyFactory(owner=sales_rep)
    seen = []

    def rows(record):
        seen.append(record.get_deferred_fields())
        return record.contacts.order_by("last_name")

    spec = ("contacts", "Contacts", rows, panels.rows_of.contact_row, True)
    panels._build_panel(sales_rep, company, spec, can_add=False)
    assert "name" in seen[0] and "owner_id" in seen[0]


def test_kept_sql_that_ignores_one_of_its_values_is_not_kept() -> None:
    # The typo tier once passed the search's words too and used only the whole text: kept,
    # a later search with other words would run with the first one's (here: its second).
    def build(query, word):
        return "SELECT %s::text", [query]

    assert kept.kept_sql(("ignores",), build, ["a b", "b"]) == ("SELECT %s::text", ["a b"])
    assert kept.kept_sql(("ignores",), build, ["c d", "d"]) == ("SELECT %s::text", ["c d"])
    assert kept.compiled.values() == [kept._PLAIN]


def test_kept_values_are_the_rows_as_dicts_compiled_once(sales_rep) -> None:
    deals = _deals(sales_rep)
    built = []

    def build(key):
        built.append(key)
        return crm.Deal.objects.filter(pk=key).values("id", "name", "amount", "owner__name")

    for deal in deals:
        (row,) = kept.kept_values(("dicts",), build, [deal.pk])
        assert row == {
            "id": deal.pk,
            "name": deal.name,
            "amount": deal.amount,
            "owner__name": sales_rep.name,
        }
    assert len(built) == 1 and built[0] not in {d.pk for d in deals}  # once, with a marker
    assert kept.kept_values(("none",), lambda key: crm.Deal.objects.none(), [deals[0].pk]) == []


def test_the_typo_tier_is_kept_too(sales_rep) -> None:
    from crm.selectors.search import global_search

    f.CompanyFactory(owner=sales_rep, name="Globex West")
    for query in ("glbex", "glbex wst"):
        global_search(user=sales_rep, query=query)
    assert kept._PLAIN not in kept.compiled.values()
