"""The `crm:autocomplete` endpoint behind related-record fields: only records the user may see
(or change, `for=edit`), substring and typo matching on `search_text`, recent records for an
empty query, an allow-list of entities, and the same queries whatever the number of matches."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import factories as f
from crm.models import Company
from crm.selectors.autocomplete import record_autocomplete

pytestmark = pytest.mark.django_db


def results(client: Any, entity: str, q: str = "", **params: str) -> str:
    response = client.get(reverse("crm:autocomplete", args=[entity]), {"q": q, **params})
    assert response.status_code == 200
    return response.content.decode()


def labels(user: Any, entity: str, query: str, **kwargs: Any) -> list[str]:
    return [o.label for o in record_autocomplete(user=user, entity=entity, query=query, **kwargs)]


# --- who sees what ---------------------------------------------------------------------------


def test_results_offer_only_companies_the_user_may_see(
    login: Any, sales_rep: Any, outsider: Any
) -> None:
    mine = f.CompanyFactory(owner=sales_rep, name="Acme North", domain="north.example")
    f.CompanyFactory(owner=outsider, name="Acme Hidden")
    html = results(login(sales_rep), "company", "acme")
    assert f'data-value="{mine.pk}"' in html and "Acme North" in html
    assert "north.example" in html  # the subtitle
    assert "Acme Hidden" not in html
    assert "Acme Hidden" not in results(login(sales_rep), "company")  # recent records too


def test_for_edit_offers_only_records_the_user_may_change(
    login: Any, sales_rep: Any, teammate: Any
) -> None:
    f.CompanyFactory(owner=teammate, shared_with_team=True, name="Acme Shared")
    f.CompanyFactory(owner=sales_rep, name="Acme Own")
    client = login(sales_rep)
    assert "Acme Shared" in results(client, "company", "acme")
    changeable = results(client, "company", "acme", **{"for": "edit"})
    assert "Acme Own" in changeable and "Acme Shared" not in changeable


def test_a_manager_finds_the_teams_records_and_an_admin_everyones(
    manager: Any, sales_rep: Any, outsider: Any, admin_user: Any
) -> None:
    f.CompanyFactory(owner=sales_rep, name="Acme Team")
    f.CompanyFactory(owner=outsider, name="Acme Other")
    assert labels(manager, "company", "acme") == ["Acme Team"]
    assert labels(admin_user, "company", "acme") == ["Acme Other", "Acme Team"]


@pytest.mark.parametrize("entity", ["task", "document", "invoice", "user", "board", "nope"])
def test_an_entity_outside_the_allow_list_is_404(login: Any, sales_rep: Any, entity: str) -> None:
    url = reverse("crm:autocomplete", args=[entity])
    assert login(sales_rep).get(url, {"q": "a"}).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client: Any) -> None:
    response = client.get(reverse("crm:autocomplete", args=["company"]), {"q": "acme"})
    assert response.status_code == 302
    assert "login" in response.url


# --- matching --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "globex",  # a whole word
        "lobe",  # inside a word
        "GLOBEX CORP",  # letter case
        "globx",  # a typo
        "glbex corporaton",  # two typos
        "gl",  # a short prefix
        "info@globex",  # another column of search_text (the email)
    ],
)
def test_a_company_is_found_by_substring_case_typo_and_prefix(sales_rep: Any, query: str) -> None:
    f.CompanyFactory(owner=sales_rep, name="Globex Corporation", email="info@globex.example")
    f.CompanyFactory(owner=sales_rep, name="Initech", email="hello@initech.example")
    assert labels(sales_rep, "company", query) == ["Globex Corporation"]


def test_accents_are_ignored_both_ways(sales_rep: Any) -> None:
    f.CompanyFactory(owner=sales_rep, name="Café Müller")
    assert labels(sales_rep, "company", "cafe mull") == ["Café Müller"]
    assert labels(sales_rep, "company", "CAFÉ") == ["Café Müller"]


def test_substring_matches_by_name_come_before_typo_matches_closest_first(
    sales_rep: Any,
) -> None:
    # "acm" shares 3 of the query's 5 trigrams, "acne" 2: the closer typo first, whatever
    # the name order.
    for name in ("Acne Labs", "Zeta Acme", "Acme Works", "Zed Acm"):
        f.CompanyFactory(owner=sales_rep, name=name)
    assert labels(sales_rep, "company", "acme") == [
        "Acme Works",
        "Zeta Acme",
        "Zed Acm",
        "Acne Labs",
    ]


def _hidden_and_mine(sales_rep: Any, outsider: Any, stem: str, n: int) -> list[str]:
    """n companies named "<stem> Hidden i" the rep may not see, then n "<stem> Mine i" the
    rep owns: the names of the rep's."""
    for i in range(n):
        f.CompanyFactory(owner=outsider, name=f"{stem} Hidden {i}")
    return [f.CompanyFactory(owner=sales_rep, name=f"{stem} Mine {i}").name for i in range(n)]


def test_typo_matches_are_read_up_to_a_cap_and_stay_visible_only(
    sales_rep: Any, outsider: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr("crm.selectors.autocomplete.TYPO_CANDIDATES", 3)
    _hidden_and_mine(sales_rep, outsider, "Acne", 4)
    found = labels(sales_rep, "company", "acme")
    assert len(found) == 3 and all(name.startswith("Acne Mine") for name in found)


def test_a_common_substring_offers_the_first_names_among_the_first_visible_matches(
    sales_rep: Any, outsider: Any, monkeypatch: Any
) -> None:
    # More visible matches than CANDIDATES: the options are the first by name among the first
    # CANDIDATES visible ones read, hidden matches never among them; fewer: the exact first.
    monkeypatch.setattr("crm.selectors.autocomplete.CANDIDATES", 4)
    mine = _hidden_and_mine(sales_rep, outsider, "Acme", 6)
    found = labels(sales_rep, "company", "acme", limit=3)
    assert len(found) == 3 and set(found) <= set(mine) and found == sorted(found)
    monkeypatch.setattr("crm.selectors.autocomplete.CANDIDATES", 7)
    assert labels(sales_rep, "company", "acme", limit=3) == mine[:3]


def test_wildcards_in_the_query_are_matched_literally(sales_rep: Any) -> None:
    f.CompanyFactory(owner=sales_rep, name="Acme", email="", domain="", phone="")
    assert labels(sales_rep, "company", "%%%") == []
    assert labels(sales_rep, "company", "a_m") == []


def test_an_empty_query_offers_the_ten_most_recently_changed(sales_rep: Any) -> None:
    now = timezone.now()
    for i in range(12):
        company = f.CompanyFactory(owner=sales_rep, name=f"Company {i:02}")
        # updated_at is stamped by a trigger on save; set it apart afterwards.
        Company.objects.filter(pk=company.pk).update(updated_at=now - dt.timedelta(hours=i))
    assert labels(sales_rep, "company", "  ") == [f"Company {i:02}" for i in range(10)]


def test_a_result_limit_is_kept(sales_rep: Any) -> None:
    for i in range(5):
        f.CompanyFactory(owner=sales_rep, name=f"Acme {i}")
    assert labels(sales_rep, "company", "acme", limit=3) == ["Acme 0", "Acme 1", "Acme 2"]


def test_contacts_show_their_email_and_company(login: Any, sales_rep: Any) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Initech")
    contact = f.ContactFactory(
        owner=sales_rep, company=company, first_name="Peter", last_name="Gibbons",
        email="peter@initech.example",
    )  # fmt: skip
    html = results(login(sales_rep), "contact", "gibons")  # a typo
    assert f'data-value="{contact.pk}"' in html and 'data-label="Peter Gibbons"' in html
    assert "peter@initech.example · Initech" in html


@pytest.mark.parametrize(
    ("entity", "make", "query", "label"),
    [
        ("lead", lambda u: f.LeadFactory(owner=u, first_name="Ada", last_name="Byron"), "byro",
         "Ada Byron"),
        ("deal", lambda u: f.DealFactory(owner=u, name="Renewal 2026"), "renewal", "Renewal 2026"),
        ("contract", lambda u: f.ContractFactory(owner=u, title="Master agreement"), "agree",
         "Master agreement"),
    ],
)  # fmt: skip
def test_leads_deals_and_contracts_are_found_too(
    sales_rep: Any, outsider: Any, entity: str, make: Any, query: str, label: str
) -> None:
    make(sales_rep)
    make(outsider)  # the same name, invisible
    assert labels(sales_rep, entity, query) == [label]


def test_no_match_says_so(login: Any, sales_rep: Any) -> None:
    html = results(login(sales_rep), "company", "zzzz")
    assert "No companies match “zzzz”." in html and 'role="option"' not in html


def test_a_full_list_says_more_match_only_when_more_do(login: Any, sales_rep: Any) -> None:
    for i in range(12):
        f.CompanyFactory(owner=sales_rep, name=f"Acme {i:02d}")
    f.CompanyFactory(owner=sales_rep, name="Quetzal Ltd")
    client = login(sales_rep)
    full, narrowed = results(client, "company", "acme"), results(client, "company", "quetzal")
    hint = "More companies match: keep typing to narrow them."
    assert full.count('role="option"') == 10 and hint in full
    assert narrowed.count('role="option"') == 1 and hint not in narrowed
    assert hint not in results(client, "company")  # recent records offered, nothing typed
    Company.objects.filter(name__in=["Acme 10", "Acme 11"]).delete()
    exactly_ten = results(client, "company", "acme")
    assert exactly_ten.count('role="option"') == 10 and hint not in exactly_ten


# --- cost ------------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ["company", "contact", "deal", "contract"])
@pytest.mark.parametrize("count", [3, 30])
def test_results_cost_the_same_queries_for_3_or_30_matches(
    login: Any, sales_rep: Any, entity: str, count: int, django_assert_max_num_queries
) -> None:
    factory = {
        "company": lambda i: f.CompanyFactory(owner=sales_rep, name=f"Acme {i}"),
        "contact": lambda i: f.ContactFactory(owner=sales_rep, last_name=f"Acme{i}"),
        "deal": lambda i: f.DealFactory(owner=sales_rep, name=f"Acme deal {i}"),
        "contract": lambda i: f.ContractFactory(owner=sales_rep, title=f"Acme MSA {i}"),
    }[entity]
    for i in range(count):
        factory(i)
    client = login(sales_rep)
    # Session and user (2), the rep's team and watched rows (1); the first CANDIDATES visible
    # substring matches, fenced (1: fewer here, so the exact first rows are read instead),
    # through crm.fence.first_rows: its savepoint, planner setting, the fenced keys and the
    # setting put back (5, inside the test's transaction), then the rows (1); with fewer than
    # 10 found, the typos: the threshold with its savepoint (3) and the rows (1). Contacts,
    # deals and contracts then name the options' companies the rep may see (1).
    with django_assert_max_num_queries(15):
        html = results(client, entity, "acme")
    assert html.count('role="option"') == min(count, 10)
    with django_assert_max_num_queries(6):  # no threshold, still the watched companies
        assert results(client, entity).count('role="option"') == min(count, 10)


def test_substring_and_typo_matching_can_use_the_trigram_index(sales_rep: Any) -> None:
    from django.db import connection

    from crm.search import search_text_contains
    from crm.selectors.search_terms import typo_match

    rows = Company.objects.filter(search_text_contains("acme") | typo_match("acme"))
    rows = rows.order_by("name")[:10]
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        # Forbid the alternatives, as a big table would: the plan left is the index's, if any.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on company_search_trgm" in plan
    assert "'%acme%'" in plan  # the query side was folded to a constant pattern
