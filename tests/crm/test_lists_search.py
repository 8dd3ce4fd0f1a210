"""The lists' text filter (`?q=`): every searched column has a trigram index that can answer it,
so a word no row holds is not a read of the whole table (446 ms for 300,000 tasks without one),
and it finds what it should, in any case, among the rows the user may see."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from crm import factories as f
from crm import permissions
from crm.forms.lists import ListFilterForm
from crm.lists import engine
from crm.lists.filters import FilterContext
from crm.lists.registry import SPECS

pytestmark = pytest.mark.django_db

# list -> the index its ?q= can use
INDEXES = {
    "company": "company_search_trgm",
    "contact": "contact_search_trgm",
    "lead": "lead_search_trgm",
    "deal": "deal_search_trgm",
    "contract": "contract_title_trgm",
    "task": "task_title_trgm",
    "document": "document_name_trgm",
}


@pytest.mark.parametrize("key", sorted(INDEXES))
def test_the_text_filter_can_be_answered_from_a_trigram_index(
    key: str, admin_user: Any, explain: Any
) -> None:
    spec = SPECS[key]
    form = ListFilterForm(spec=spec, ctx=FilterContext(admin_user), data={"q": "quarterly"})
    assert form.is_valid(), form.errors
    rows = engine.filtered(spec, spec.model.objects.all(), form, FilterContext(admin_user))
    # What PostgreSQL would do at scale: the table read whole is not an option.
    plan = explain(rows.order_by().values("pk"))
    assert f"Bitmap Index Scan on {INDEXES[key]}" in plan, plan


def test_task_titles_are_found_in_any_case_among_visible_tasks(
    login: Any, sales_rep: Any, outsider: Any
) -> None:
    mine = f.TaskFactory(owner=sales_rep, title="Send the Quarterly report")
    f.TaskFactory(owner=sales_rep, title="Call the printer")
    f.TaskFactory(owner=outsider, title="Quarterly review (theirs)")
    page = login(sales_rep).get(reverse("crm:task.list"), {"q": "QUARTERLY"}).context["page"]
    assert [row.pk for row in page.rows] == [mine.pk]
    visible = permissions.visible_to(sales_rep, SPECS["task"].model)
    assert visible.filter(title__icontains="quarterly").count() == 1


@pytest.mark.parametrize(
    ("key", "parent"),
    [
        ("contact", "company"),
        ("contact", "deal"),
        ("lead", "company"),
        ("deal", "company"),
        ("deal", "contact"),
        ("contract", "deal"),
        ("task", "contact"),
        ("document", "company"),
    ],
)
def test_a_search_within_a_parents_records_finds_them(
    key: str, parent: str, login: Any, sales_rep: Any, monkeypatch: Any
) -> None:
    # The bounded walk (crm.fence.first_rows) reads the list's own query over the first rows
    # of its order: parent filters and the visibility rules must not read the table again.
    monkeypatch.setattr("crm.fence.HEAD_SCAN", 2)
    record = {
        "company": lambda: f.CompanyFactory(owner=sales_rep),
        "contact": lambda: f.ContactFactory(owner=sales_rep),
        "deal": lambda: f.DealFactory(owner=sales_rep),
    }[parent]()
    made = {
        ("contact", "company"): lambda: f.ContactFactory(
            owner=sales_rep, company=record, last_name="Quarterly"
        ),
        ("contact", "deal"): lambda: (
            record.contacts.add(c := f.ContactFactory(owner=sales_rep, last_name="Quarterly")) or c
        ),
        ("lead", "company"): lambda: f.LeadFactory(
            owner=sales_rep, company=record, last_name="Quarterly"
        ),
        ("deal", "company"): lambda: f.DealFactory(
            owner=sales_rep, company=record, name="Quarterly deal"
        ),
        ("deal", "contact"): lambda: f.DealFactory(
            owner=sales_rep, primary_contact=record, name="Quarterly deal"
        ),
        ("contract", "deal"): lambda: f.ContractFactory(
            owner=sales_rep, deal=record, title="Quarterly MSA"
        ),
        ("task", "contact"): lambda: f.TaskFactory(
            owner=sales_rep, contact=record, title="Quarterly call"
        ),
        ("document", "company"): lambda: _linked_document(sales_rep, record),
    }[(key, parent)]()
    response = login(sales_rep).get(
        reverse(f"crm:{key}.list"), {"q": "quarterly", parent: str(record.pk)}
    )
    assert response.status_code == 200
    assert [row.pk for row in response.context["page"].rows] == [made.pk]


def _linked_document(owner: Any, company: Any) -> Any:
    document = f.DocumentFactory(owner=owner, name="Quarterly report")
    document.companies.add(company)
    return document
