"""Global search: typos, prefixes, emails, phones and domains; grouped; visible rows only;
served by the search indexes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.urls import reverse
from faker import Faker

from accounts.models import User
from crm.factories import CompanyFactory, ContactFactory, DealFactory, LeadFactory
from crm.models import Contact
from crm.selectors.search import global_search, search_sql, use_search_threshold

pytestmark = pytest.mark.django_db


def _titles(results: Any, key: str) -> list[str]:
    return [hit.title for group in results.groups if group.key == key for hit in group.hits]


@pytest.fixture
def john(sales_rep: User) -> Contact:
    company = CompanyFactory(
        name="Smith Industries", domain="smithindustries.example", owner=sales_rep
    )
    return ContactFactory(
        first_name="John",
        last_name="Smith",
        email="john.smith@example.com",
        phone="+1 555 010 2030",
        company=company,
        owner=sales_rep,
    )


def test_two_typos_still_find_john_smith(sales_rep: User, john: Contact) -> None:
    results = global_search(user=sales_rep, query="Jonh Smiht")
    assert _titles(results, "contacts") == ["John Smith"]


def test_typos_are_forgiven_only_when_the_words_match_nothing_anywhere(
    sales_rep: User, john: Contact
) -> None:
    CompanyFactory(name="Jon Smith Holdings", owner=sales_rep)
    # "john smith" matches the contact word for word: the near-miss company is left out.
    exact = global_search(user=sales_rep, query="john smith")
    assert _titles(exact, "contacts") == ["John Smith"]
    assert _titles(exact, "companies") == []
    # With typos nothing matches word for word, so every type is searched for near misses.
    fuzzy = global_search(user=sales_rep, query="Jonh Smiht")
    assert "John Smith" in _titles(fuzzy, "contacts")
    assert "Jon Smith Holdings" in _titles(fuzzy, "companies")


def test_a_typo_search_needs_every_word_close(sales_rep: User) -> None:
    # "mary" alone carries "mary jonson" past the lowered threshold as a phrase: every Mary
    # would be a candidate. Word by word, only the Mary whose other word is close is.
    for first, last in (("Mary", "Johnson"), ("Mary", "Adams"), ("Ann", "Jonsen"), ("Bo", "Q")):
        ContactFactory(first_name=first, last_name=last, owner=sales_rep)
    hits = _titles(global_search(user=sales_rep, query="mary jonson"), "contacts")
    assert hits == ["Mary Johnson"]
    # A "word" of underscores alone is no word to pg_trgm: it is left out, not required.
    assert _titles(global_search(user=sales_rep, query="mary jonson __"), "contacts") == [
        "Mary Johnson"
    ]
    # One word with a typo, and the typo tier's own gate, are as before.
    assert _titles(global_search(user=sales_rep, query="Jonsen"), "contacts") == ["Ann Jonsen"]
    assert "Ann Jonsen" in _titles(global_search(user=sales_rep, query="Jonsan"), "contacts")


def test_a_prefix_finds_the_contact_while_typing(sales_rep: User, john: Contact) -> None:
    assert "John Smith" in _titles(global_search(user=sales_rep, query="joh"), "contacts")
    assert "John Smith" in _titles(global_search(user=sales_rep, query="jo"), "contacts")


def test_email_phone_and_domain_find_their_records(sales_rep: User, john: Contact) -> None:
    assert _titles(global_search(user=sales_rep, query="john.smith@example.com"), "contacts") == [
        "John Smith"
    ]
    assert "John Smith" in _titles(global_search(user=sales_rep, query="555 010 2030"), "contacts")
    by_domain = global_search(user=sales_rep, query="smithindustries.example")
    assert _titles(by_domain, "companies") == ["Smith Industries"]


def test_accents_and_case_do_not_matter(sales_rep: User) -> None:
    ContactFactory(first_name="José", last_name="Müller", owner=sales_rep)
    assert _titles(global_search(user=sales_rep, query="JOSE MULLER"), "contacts") == [
        "José Müller"
    ]


def test_results_are_grouped_by_type_in_a_fixed_order(sales_rep: User, john: Contact) -> None:
    LeadFactory(first_name="Johnny", last_name="Smithers", owner=sales_rep)
    DealFactory(name="Smith renewal", company=john.company, owner=sales_rep)
    results = global_search(user=sales_rep, query="smith")
    assert [group.key for group in results.groups] == ["companies", "contacts", "leads", "deals"]
    assert _titles(results, "companies") == ["Smith Industries"]
    assert _titles(results, "leads") == ["Johnny Smithers"]
    assert _titles(results, "deals") == ["Smith renewal"]
    contact_hit = next(g for g in results.groups if g.key == "contacts").hits[0]
    assert contact_hit.url == john.get_absolute_url()
    assert "Smith Industries" in contact_hit.subtitle


def test_the_closest_match_ranks_first(sales_rep: User, john: Contact) -> None:
    ContactFactory(first_name="Johanna", last_name="Smithson", owner=sales_rep)
    assert _titles(global_search(user=sales_rep, query="john smith"), "contacts")[0] == (
        "John Smith"
    )


def test_outsiders_records_never_appear(
    sales_rep: User, outsider: User, teammate: User, john: Contact
) -> None:
    ContactFactory(first_name="John", last_name="Smithy", owner=outsider, shared_with_team=True)
    ContactFactory(first_name="John", last_name="Smithe", owner=teammate)  # not shared
    ContactFactory(first_name="John", last_name="Smithers", owner=teammate, shared_with_team=True)
    seen = _titles(global_search(user=sales_rep, query="john smith"), "contacts")
    assert "John Smith" in seen and "John Smithers" in seen
    assert "John Smithy" not in seen and "John Smithe" not in seen
    assert _titles(global_search(user=outsider, query="john smith"), "contacts") == ["John Smithy"]


@pytest.mark.parametrize("tier_query", ["zebulon", "zebulom"], ids=["full_text", "typo"])
def test_hits_name_only_the_companies_the_user_may_see(
    tier_query: str, sales_rep: User, outsider: User
) -> None:
    hidden = CompanyFactory(name="Hushhush Holdings", owner=outsider)
    shown = CompanyFactory(name="Openly Trading", owner=sales_rep)
    for label, company in (("Alpha", hidden), ("Beta", shown)):
        ContactFactory(first_name="Zebulon", last_name=label, company=company, owner=sales_rep)
        DealFactory(name=f"Zebulon {label}", company=company, owner=sales_rep)
    results = global_search(user=sales_rep, query=tier_query)
    for key in ("contacts", "deals"):
        hits = {hit.title: hit.subtitle for g in results.groups if g.key == key for hit in g.hits}
        assert "Openly Trading" in hits["Zebulon Beta"]
        assert "Hushhush" not in hits["Zebulon Alpha"].title()


def test_a_query_matching_half_the_table_still_returns_the_top_few(sales_rep: User) -> None:
    for n in range(30):
        ContactFactory(last_name=f"Person{n}", email=f"p{n}@example.com", owner=sales_rep)
    results = global_search(user=sales_rep, query="example.co")
    assert len(next(g for g in results.groups if g.key == "contacts").hits) == 5


def test_a_deactivated_user_finds_nothing(sales_rep: User, john: Contact) -> None:
    sales_rep.is_active = False
    assert global_search(user=sales_rep, query="john").total == 0


def test_an_empty_query_searches_nothing(sales_rep: User, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert global_search(user=sales_rep, query="   ").total == 0


@pytest.mark.parametrize("rows", [3, 30])
def test_search_makes_one_query_per_type_whatever_the_matches(
    rows: int, sales_rep: User, django_assert_max_num_queries: Any
) -> None:
    for n in range(rows):
        company = CompanyFactory(name=f"Smith {n}", owner=sales_rep)
        ContactFactory(last_name=f"Smith{n}", company=company, owner=sales_rep)
        DealFactory(name=f"Smith deal {n}", company=company, owner=sales_rep)
    # Four searches, the team and the watched ids once, the names of the hits' companies, and
    # the savepoint pair of the atomic block (inside the test's transaction).
    with django_assert_max_num_queries(12):
        global_search(user=sales_rep, query="smith", limit_per_type=50)


def test_header_dropdown_is_a_fragment_with_headings_and_see_all(
    login: Any, sales_rep: User, john: Contact
) -> None:
    response = login(sales_rep).get(reverse("crm:search"), {"q": "jonh"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "<h3>Contacts</h3>" in html and "John Smith" in html
    assert reverse("crm:search") + "?q=jonh" in html


def test_dropdown_says_no_matches_and_is_empty_for_an_empty_query(
    login: Any, sales_rep: User
) -> None:
    client = login(sales_rep)
    url = reverse("crm:search")
    assert "No matches" in client.get(url, {"q": "zzqx"}, HTTP_HX_REQUEST="true").content.decode()
    assert client.get(url, {"q": ""}, HTTP_HX_REQUEST="true").content.decode().strip() == ""


def test_full_page_lists_results_without_htmx(login: Any, sales_rep: User, john: Contact) -> None:
    response = login(sales_rep).get(reverse("crm:search"), {"q": "smith"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and "John Smith" in html and "Smith Industries" in html


def test_search_requires_sign_in(client: Any) -> None:
    assert client.get(reverse("crm:search"), {"q": "x"}).status_code == 302


# --- the query is served by the search indexes -------------------------------------------


@pytest.fixture
def many_contacts(outsider: User) -> None:
    fake = Faker()
    fake.seed_instance(7)
    Contact.objects.bulk_create(
        [
            Contact(
                first_name=fake.first_name(),
                last_name=fake.last_name(),
                email=fake.email(),
                owner=outsider,
            )
            for _ in range(3000)
        ],
        batch_size=1000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_contact")
        # A few thousand rows fit in a few pages, where reading them all looks cheapest (a
        # table scan, or a whole index walked for its row order); forbid both to prove the
        # search indexes can serve each tier (scripts/bench_search.py shows the plans at 1M).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")


@pytest.mark.parametrize("query", ["Jonh Smiht", "joh"])
def test_the_search_query_uses_the_trigram_and_full_text_indexes(
    many_contacts: None, admin_user: User, query: str
) -> None:
    # An admin sees every row: the case where only the search indexes can narrow the scan.
    use_search_threshold()
    sql, params = search_sql(user=admin_user, model=Contact, query=query, limit=5)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "contact_search_fts" in plan
    assert "contact_search_trgm" in plan  # the typo tier, behind a one-time filter
    assert "contact_updated_idx" not in plan and "Seq Scan on crm_contact" not in plan


@pytest.mark.django_db(transaction=True)  # a real transaction, whose end resets the settings
def test_the_typo_tier_allows_only_bitmap_scans_for_its_transaction(sales_rep: User) -> None:
    # At 1M contacts a whole-table walk (a sequential scan, or any index walked for its order)
    # cost 0.6-0.8 s for a common name; only the trigram index's bitmap narrows the rows.
    def settings() -> tuple[str, str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('enable_seqscan'), current_setting('enable_indexscan')"
            )
            return cursor.fetchone()

    with transaction.atomic():
        use_search_threshold()
        assert settings() == ("off", "off")
    assert settings() == ("on", "on")
