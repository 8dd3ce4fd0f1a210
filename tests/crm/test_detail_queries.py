"""Detail pages issue a bounded number of queries: the same budget with 3 and 30 related rows
of every kind (panels, timeline notes and tasks, history entries, links)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import factories as f
from crm.selectors.panels import PANEL_SPECS

pytestmark = pytest.mark.django_db

# Per page, for a sales rep viewing their own record, the session and user lookups included:
# the larger of the 3-row and the 30-row page. Most of it is the visibility layer: each
# panel's visible_to() looks up the ids of the rows the user watches (per parent model), then
# one query for its rows and, when there are more than it shows, one count. The deal page
# adds its "Add contact" picker and the document page one "Link to" picker per entity (one
# query each).
BUDGETS = {
    "company": 29,
    "contact": 24,
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
    # A panel that fits costs one query and one with more rows than it shows two (the count
    # behind "All N"): at 30 rows every panel overflows, at 3 none does. Nothing else grows.
    # (The history names the records its entries' foreign keys point at, one query per model,
    # and the 3-row page still shows the record's creation (owner, company, ...) where the
    # 30-row page shows only the description edits, so the 30-row page may cost less.)
    assert many <= few + len(PANEL_SPECS[key])


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize("key", sorted(BUDGETS))
def test_detail_page_stays_within_its_query_budget(
    key, n, sales_rep, login, django_assert_max_num_queries
) -> None:
    url = _populate(sales_rep, n)[key].get_absolute_url()
    client = login(sales_rep)
    with django_assert_max_num_queries(BUDGETS[key]):
        assert client.get(url).status_code == 200
