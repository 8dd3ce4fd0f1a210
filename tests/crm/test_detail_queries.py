"""Detail pages issue a bounded number of queries: the same budget with 3 and 30 related rows
of every kind (panels, timeline notes and tasks, history entries, links)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import factories as f
from crm import kept
from crm.selectors.panels import related_panel

pytestmark = pytest.mark.django_db

# Per page, for a sales rep viewing their own record, the session and user lookups included:
# the larger of the 3-row and the 30-row page. Most of it is the visibility layer: each
# panel's visible_to() looks up the ids of the rows the user watches (once per model and
# request), then one query for its rows and their total. The deal page adds its "Add contact"
# picker and the document page one "Link to" picker per entity (one query each).
BUDGETS = {
    "company": 24,
    "contact": 23,
    "lead": 22,
    "deal": 29,
    "contract": 19,
    "task": 18,
    "document": 26,
}


def _populate(owner: Any, n: int) -> dict[str, Any]:
    """One record of each entity, each with `n` rows in every panel and timeline source."""
    company = f.CompanyFactory(owner=owner)
    contact = f.ContactFactory(owner=owner, company=company)
    lead = f.LeadFactory(owner=owner, company=company)
    deal = f.DealFactory(owner=owner, company=company, primary_contact=contact)
    contract = f.ContractFactory(owner=owner, company=company, deal=deal)
    task = f.TaskFactory(owner=owner, company=company)
    document = f.DocumentFactory(owner=owner)
    document.companies.add(company)
    document.deals.add(deal)
    parents = {"company": company, "contact": contact, "lead": lead, "deal": deal}
    for i in range(n):
        other_contact = f.ContactFactory(owner=owner, company=company)
        deal.contacts.add(other_contact)
        f.DealFactory(owner=owner, company=company, primary_contact=contact)
        f.ContractFactory(owner=owner, company=company, deal=deal)
        f.LeadFactory(owner=owner, company=company)
        doc = f.DocumentFactory(owner=owner)
        doc.companies.add(company)
        doc.contacts.add(contact)
        doc.leads.add(lead)
        doc.deals.add(deal)
        doc.contracts.add(contract)
        doc.tasks.add(task)
        for parent, target in parents.items():
            f.NoteFactory(author=owner, **{"company": None, parent: target})
            f.TaskFactory(
                owner=owner,
                status="done",
                completed_at="2026-01-01T00:00:00Z",
                **{parent: target},
            )
        f.TaskCommentFactory(task=task, author=owner)
        for record in (company, contact, lead, deal, contract, task, document):
            # One history entry each (the audit triggers record the update).
            text = "body" if record is task else "description"
            type(record).objects.filter(pk=record.pk).update(**{text: f"version {i}"})
    return {
        "company": company,
        "contact": contact,
        "lead": lead,
        "deal": deal,
        "contract": contract,
        "task": task,
        "document": document,
    }


def _count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("key", sorted(BUDGETS))
def test_detail_page_queries_do_not_grow_with_related_rows(key, sales_rep, login) -> None:
    client = login(sales_rep)
    few = _count(client, _populate(sales_rep, 3)[key].get_absolute_url())
    many = _count(client, _populate(sales_rep, 30)[key].get_absolute_url())
    # A panel is one query whether it fits (3 rows) or overflows (30: its total is a window
    # count in the same query), so nothing grows. (The history names the records its entries'
    # foreign keys point at, one query per model, and the 3-row page still shows the record's
    # creation (owner, company, ...) where the 30-row page shows only the description edits,
    # so the 30-row page may cost less.)
    assert many <= few


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize("key", sorted(BUDGETS))
def test_detail_page_stays_within_its_query_budget(
    key, n, sales_rep, login, django_assert_max_num_queries
) -> None:
    url = _populate(sales_rep, n)[key].get_absolute_url()
    client = login(sales_rep)
    with django_assert_max_num_queries(BUDGETS[key]):
        assert client.get(url).status_code == 200


def test_a_panel_costs_one_query_whether_it_fits_or_overflows(
    sales_rep, outsider, django_assert_num_queries, monkeypatch
) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    f.ContactFactory.create_batch(3, owner=sales_rep, company=company)
    other = f.CompanyFactory(owner=sales_rep)
    f.ContactFactory.create_batch(11, owner=sales_rep, company=other)
    # Not counted: the total is over the rows the user may see.
    f.ContactFactory.create_batch(2, owner=outsider, company=other)
    related_panel(sales_rep, company, "contacts", can_add=False)  # warm the watched-ids cache
    with django_assert_num_queries(1):
        panel = related_panel(sales_rep, company, "contacts", can_add=False)
    assert panel.count == 3 and not panel.has_more
    with django_assert_num_queries(1):
        panel = related_panel(sales_rep, other, "contacts", can_add=False)
    assert panel.count == 11 and len(panel.rows) == 10 and panel.has_more
    assert not panel.count_capped
    assert all(row.url == f"/contacts/{row.pk}/" for row in panel.rows)
    # A company with more related rows than the cap shows a floor, not an exact count.
    monkeypatch.setattr("crm.selectors.panels.COUNT_CAP", 11)
    panel = related_panel(sales_rep, other, "contacts", can_add=False)
    assert (panel.count, panel.count_capped, len(panel.rows)) == (11, True, 10)
    # ...and still the first rows by name, not any ten of the first eleven.
    expected = other.contacts.order_by("last_name", "first_name").filter(owner=sales_rep)
    assert [r.pk for r in panel.rows] == list(expected.values_list("pk", flat=True)[:10])


def test_deal_contacts_panel_lists_linked_and_primary_contacts_once_each(
    sales_rep, outsider
) -> None:
    primary = f.ContactFactory(owner=sales_rep, last_name="Primary")
    deal = f.DealFactory(owner=sales_rep, primary_contact=primary)
    linked = f.ContactFactory(owner=sales_rep, last_name="Linked")
    deal.contacts.add(linked, primary)  # primary and linked too: still one row
    deal.contacts.add(f.ContactFactory(owner=outsider, last_name="Hidden"))
    panel = related_panel(sales_rep, deal, "contacts", can_add=False)
    assert [row.title.split()[-1] for row in panel.rows] == ["Linked", "Primary"]
    assert panel.count == 2


def test_contact_deals_panel_lists_primary_and_linked_deals_once_each(sales_rep, outsider) -> None:
    contact = f.ContactFactory(owner=sales_rep)
    primary = f.DealFactory(owner=sales_rep, primary_contact=contact, name="Primary deal")
    primary.contacts.add(contact)
    linked = f.DealFactory(owner=sales_rep, name="Linked deal")
    linked.contacts.add(contact)
    f.DealFactory(owner=outsider, primary_contact=contact, name="Hidden deal")
    f.DealFactory(owner=sales_rep, name="Unrelated deal")
    panel = related_panel(sales_rep, contact, "deals", can_add=False)
    assert sorted(row.title for row in panel.rows) == ["Linked deal", "Primary deal"]
    assert panel.count == 2


@pytest.mark.parametrize("kind", ["company", "contact", "deal"])
def test_the_documents_panel_counts_the_records_links(
    kind, sales_rep, outsider, django_assert_num_queries, monkeypatch
) -> None:
    record = {"company": f.CompanyFactory, "contact": f.ContactFactory, "deal": f.DealFactory}[
        kind
    ](owner=sales_rep)
    # Linked documents show whoever owns them (a document follows the record it is linked to).
    docs = [f.DocumentFactory(owner=owner) for owner in (sales_rep, outsider, outsider)]
    record.documents.add(*docs)
    f.DocumentFactory(owner=sales_rep)  # not linked
    related_panel(sales_rep, record, "documents", can_add=False)  # warm the viewer's facts
    with django_assert_num_queries(1):
        panel = related_panel(sales_rep, record, "documents", can_add=False)
    assert panel.count == 3 and {row.pk for row in panel.rows} == {d.pk for d in docs}
    with CaptureQueriesContext(connection) as ctx:
        related_panel(sales_rep, record, "documents", can_add=False)
    (sql,) = [q["sql"] for q in ctx.captured_queries]
    counted = sql.split("SELECT count(*) FROM (", 1)[1]
    table = {"company": "companies", "contact": "contacts", "deal": "deals"}[kind]
    assert counted.startswith(f'SELECT "crm_document_{table}"."{kind}_id"')
    monkeypatch.setattr("crm.selectors.panels.COUNT_CAP", 2)
    kept.compiled.clear()  # the panel's SQL was compiled (and kept) with the real cap
    panel = related_panel(sales_rep, record, "documents", can_add=False)
    assert (panel.count, panel.count_capped, len(panel.rows)) == (2, True, 2)
