"""Parent filters of the list pages (`?company=`, `?contact=`, `?deal=` ...): exactly the related
visible rows once each, nothing for a parent one may not see, field errors for a malformed id,
the chip and its remove link, and the filter kept by paging, the filter form, htmx, bulk
actions and saved views."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from crm import factories as f
from crm.models import SavedView
from tests.crm.test_lists import BUDGETS

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _list(client: Any, key: str, headers: dict | None = None, **params: Any) -> Any:
    return client.get(reverse(f"crm:{key}.list"), params, headers=headers)


def _pks(response: Any) -> list[Any]:
    return [row.pk for row in response.context["page"].rows]


# Each case builds, for `owner`, a parent and rows related to it in every way the filter
# covers, plus an unrelated row; it returns (parent, related rows).
Build = Callable[[Any], tuple[Any, list[Any]]]


def _fk(factory: Any, parent_factory: Any, field: str) -> Build:
    def build(owner: Any) -> tuple[Any, list[Any]]:
        parent = parent_factory(owner=owner)
        related = [factory(owner=owner, **{field: parent}) for _ in range(2)]
        factory(owner=owner)  # unrelated
        return parent, related

    return build


def _task(field: str, parent_factory: Any) -> Build:
    def build(owner: Any) -> tuple[Any, list[Any]]:
        parent = parent_factory(owner=owner)
        related = [f.TaskFactory(owner=owner, **{field: parent}) for _ in range(2)]
        f.TaskFactory(owner=owner)
        return parent, related

    return build


def _document(m2m: str, parent_factory: Any) -> Build:
    def build(owner: Any) -> tuple[Any, list[Any]]:
        parent = parent_factory(owner=owner)
        other = parent_factory(owner=owner)
        related = [f.DocumentFactory(owner=owner) for _ in range(2)]
        for doc in related:
            getattr(doc, m2m).add(parent, other)  # two links: still one row
        getattr(f.DocumentFactory(owner=owner), m2m).add(other)
        return parent, related

    return build


def _deals_of_contact(owner: Any) -> tuple[Any, list[Any]]:
    contact = f.ContactFactory(owner=owner)
    primary = f.DealFactory(owner=owner, primary_contact=contact)
    linked = f.DealFactory(owner=owner)
    linked.contacts.add(contact)
    both = f.DealFactory(owner=owner, primary_contact=contact)
    both.contacts.add(contact, f.ContactFactory(owner=owner))  # primary and linked: once
    f.DealFactory(owner=owner, primary_contact=f.ContactFactory(owner=owner))
    return contact, [primary, linked, both]


def _contacts_of_deal(owner: Any) -> tuple[Any, list[Any]]:
    primary, linked, other = (f.ContactFactory(owner=owner) for _ in range(3))
    deal = f.DealFactory(owner=owner, primary_contact=primary)
    deal.contacts.add(primary, linked)
    f.DealFactory(owner=owner).contacts.add(other)
    return deal, [primary, linked]


CASES: dict[tuple[str, str], Build] = {
    ("contact", "company"): _fk(f.ContactFactory, f.CompanyFactory, "company"),
    ("lead", "company"): _fk(f.LeadFactory, f.CompanyFactory, "company"),
    ("deal", "company"): _fk(f.DealFactory, f.CompanyFactory, "company"),
    ("contract", "company"): _fk(f.ContractFactory, f.CompanyFactory, "company"),
    ("contract", "deal"): _fk(f.ContractFactory, f.DealFactory, "deal"),
    ("task", "company"): _task("company", f.CompanyFactory),
    ("task", "contact"): _task("contact", f.ContactFactory),
    ("task", "lead"): _task("lead", f.LeadFactory),
    ("task", "deal"): _task("deal", f.DealFactory),
    ("document", "company"): _document("companies", f.CompanyFactory),
    ("document", "contact"): _document("contacts", f.ContactFactory),
    ("document", "lead"): _document("leads", f.LeadFactory),
    ("document", "deal"): _document("deals", f.DealFactory),
    ("document", "contract"): _document("contracts", f.ContractFactory),
    ("document", "task"): _document("tasks", f.TaskFactory),
    ("deal", "contact"): _deals_of_contact,
    ("contact", "deal"): _contacts_of_deal,
}


@pytest.mark.parametrize(("key", "param"), list(CASES), ids=[f"{k}?{p}" for k, p in CASES])
def test_parent_filter_lists_each_related_row_once(login, sales_rep, key, param) -> None:
    parent, related = CASES[key, param](sales_rep)

    response = _list(login(sales_rep), key, **{param: str(parent.pk)})

    assert response.status_code == 200
    pks = _pks(response)
    assert sorted(pks) == sorted(r.pk for r in related)  # no duplicates, nothing else
    assert response.context["page"].count == len(related)
    assert str(parent) in response.content.decode()


def test_parent_filter_keeps_hiding_related_rows_the_user_may_not_see(
    login, sales_rep, outsider
) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Acme")
    mine = f.ContactFactory(owner=sales_rep, company=company)
    f.ContactFactory(owner=outsider, company=company)

    assert _pks(_list(login(sales_rep), "contact", company=company.pk)) == [mine.pk]


@pytest.mark.parametrize("exists", [True, False], ids=["invisible", "missing"])
def test_invisible_or_missing_parent_lists_nothing_and_shows_no_name(
    login, sales_rep, outsider, exists
) -> None:
    hidden = f.CompanyFactory(owner=outsider, name="Hidden Holdings")
    # The rep's own contacts at that company: visible rows, but their parent is not.
    f.ContactFactory(owner=sales_rep, company=hidden)
    pk = hidden.pk if exists else uuid.uuid4()

    response = _list(login(sales_rep), "contact", company=pk)

    assert response.status_code == 200
    assert _pks(response) == []
    html = response.content.decode()
    assert "Hidden Holdings" not in html
    assert "not found" in html  # the same words whether it exists or not
    assert f'name="company" value="{pk}"' in html  # still part of the view until removed


@pytest.mark.parametrize("headers", [None, HTMX], ids=["page", "htmx"])
def test_malformed_parent_id_is_a_field_error_not_a_500(login, sales_rep, headers) -> None:
    f.ContactFactory(owner=sales_rep)

    response = _list(login(sales_rep), "contact", headers=headers, company="not-a-uuid")

    assert response.status_code == 200
    assert "company" in response.context["form"].errors
    html = response.content.decode()
    assert "That link names no record." in html
    assert 'class="parent-chip invalid"' in html


def test_chip_names_the_parent_and_its_remove_link_drops_only_that_parameter(
    login, sales_rep
) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Acme")
    f.ContactFactory(owner=sales_rep, company=company, type="customer")
    url = reverse("crm:contact.list")

    response = _list(
        login(sales_rep), "contact", company=company.pk, type="customer", sort="name", after="x"
    )

    html = response.content.decode()
    assert f'<a href="{company.get_absolute_url()}">Acme</a>' in html
    assert (
        f'href="{url}?type=customer&amp;sort=name" hx-get="{url}?type=customer&amp;sort=name"'
        in html
    )


def test_remove_link_of_the_only_filter_is_the_bare_list(login, sales_rep) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    url = reverse("crm:deal.list")

    html = _list(login(sales_rep), "deal", company=company.pk).content.decode()

    assert f'class="remove" href="{url}" hx-get="{url}"' in html


def test_no_chip_without_a_parent_filter(login, sales_rep) -> None:
    f.ContactFactory(owner=sales_rep)

    assert b"parent-chip" not in _list(login(sales_rep), "contact").content


def test_filter_form_and_htmx_answers_carry_the_parent_as_a_hidden_input(login, sales_rep) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Acme")
    f.ContactFactory(owner=sales_rep, company=company)
    client = login(sales_rep)
    hidden = f'<input type="hidden" name="company" value="{company.pk}" form="list-filters">'

    page = _list(client, "contact", company=company.pk).content.decode()
    fragment = _list(client, "contact", headers=HTMX, company=company.pk, q="x").content.decode()

    assert hidden in page
    assert hidden in fragment  # in the out-of-band #list-state
    assert 'id="list-state" hx-swap-oob="true"' in fragment
    assert "Acme" in fragment  # the chip is part of the swapped results


def test_keyset_pages_keep_the_parent_filter(login, sales_rep) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    ours = {f.ContactFactory(owner=sales_rep, company=company).pk for _ in range(30)}
    f.ContactFactory.create_batch(3, owner=sales_rep)
    client = login(sales_rep)

    first = _list(client, "contact", company=company.pk, sort="name", per_page=25)
    cursor = first.context["page"].next_cursor
    assert f"?company={company.pk}&amp;sort=name&amp;per_page=25&amp;after=" in (
        first.content.decode()
    )
    second = _list(client, "contact", company=company.pk, sort="name", per_page=25, after=cursor)

    assert len(_pks(first)) == 25
    assert set(_pks(first)) | set(_pks(second)) == ours


def test_other_filters_combine_with_the_parent_filter(login, sales_rep) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    wanted = f.DealFactory(owner=sales_rep, company=company, status="won")
    f.DealFactory(owner=sales_rep, company=company, status="open")
    f.DealFactory(owner=sales_rep, status="won")

    response = _list(login(sales_rep), "deal", company=company.pk, status="won")

    assert _pks(response) == [wanted.pk]


def test_bulk_action_returns_to_the_filtered_list(login, manager, sales_rep) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    contact = f.ContactFactory(owner=sales_rep, company=company)
    query = f"company={company.pk}&sort=name"

    response = login(manager).post(
        reverse("crm:contact.bulk"),
        {"action": "add_tag", "tag": "vip", "ids": [contact.pk], "query": query},
    )

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('crm:contact.list')}?{query}"


def test_saved_view_keeps_the_parent_filter(login, sales_rep) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    query = f"company={company.pk}&after=abc"

    response = login(sales_rep).post(
        reverse("crm:savedview.create"),
        {"entity": "contact", "name": "Acme people", "query": query},
    )

    view = SavedView.objects.get(owner=sales_rep)
    assert view.query == f"company={company.pk}"
    assert response["Location"].endswith(f"?company={company.pk}")


def test_htmx_answer_redraws_other_filters_errors_out_of_band(login, sales_rep) -> None:
    f.CompanyFactory(owner=sales_rep)
    client = login(sales_rep)

    bad = _list(client, "company", headers=HTMX, created_from="yesterday").content.decode()
    good = _list(client, "company", headers=HTMX).content.decode()

    assert 'id="filter-error-created_from" hx-swap-oob="true">Enter a valid date.' in bad
    assert 'id="filter-error-created_from" hx-swap-oob="true"></span>' in good


def test_page_with_a_parent_filter_has_no_inline_scripts_or_styles(login, sales_rep) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    f.ContactFactory(owner=sales_rep, company=company)

    html = _list(login(sales_rep), "contact", company=company.pk).content.decode()

    assert "<script>" not in html
    assert "style=" not in html
    assert "hx-on" not in html


# The parent filter adds the parent's row, loaded once through visible_to for the filter and
# the chip, and the ids of that model's records the user watches when the page's own rule has
# not read them already (they are cached for the request). Budgets of tests/crm/test_lists.py.
PARENT_COST = 2
BUDGET_CASES = [
    ("contact", "company"),
    ("deal", "contact"),
    ("task", "deal"),
    ("document", "task"),
]


@pytest.mark.parametrize(("key", "param"), BUDGET_CASES, ids=[f"{k}?{p}" for k, p in BUDGET_CASES])
def test_query_count_with_a_parent_filter_is_the_same_for_3_and_30_rows(
    login, manager, sales_rep, key, param, django_assert_max_num_queries
) -> None:
    parent, related = CASES[key, param](sales_rep)  # two or three rows
    client = login(manager)
    budget = BUDGETS[key] + PARENT_COST

    with django_assert_max_num_queries(budget):
        assert _list(client, key, **{param: parent.pk}).status_code == 200

    _related_rows(key, param, parent, sales_rep, count=30 - len(related))
    with django_assert_max_num_queries(budget):
        response = _list(client, key, **{param: parent.pk})
    assert len(response.context["page"].rows) == 30


def _related_rows(key: str, param: str, parent: Any, owner: Any, *, count: int) -> list[Any]:
    """`count` more rows of `key` related to `parent`, by the filter's main path."""
    if key == "document":
        docs = f.DocumentFactory.create_batch(count, owner=owner)
        for doc in docs:
            doc.tasks.add(parent)
        return docs
    if key == "deal":
        return f.DealFactory.create_batch(count, owner=owner, primary_contact=parent)
    factory = {"contact": f.ContactFactory, "task": f.TaskFactory}[key]
    return factory.create_batch(count, owner=owner, **{param: parent})
