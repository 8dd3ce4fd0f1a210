"""Create pages opened from a detail page's "Add" links: `?company=`, `?contact=`, `?deal=` ...
prefill the new record's field or link the new document, and a parent the user may not see
is a 404 (crm/views/records.py), so nobody learns that it exists."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from crm import factories as f
from crm.models import Deal, Document

pytestmark = pytest.mark.django_db

# (entity, parameter, the form field it fills, parent factory)
FIELD_PREFILLS = [
    ("contact", "company", "company", f.CompanyFactory),
    ("lead", "company", "company", f.CompanyFactory),
    ("deal", "company", "company", f.CompanyFactory),
    ("deal", "contact", "primary_contact", f.ContactFactory),
    ("contract", "company", "company", f.CompanyFactory),
    ("contract", "deal", "deal", f.DealFactory),
]
DOCUMENT_LINKS = [
    ("company", "companies", f.CompanyFactory),
    ("contact", "contacts", f.ContactFactory),
    ("lead", "leads", f.LeadFactory),
    ("deal", "deals", f.DealFactory),
    ("contract", "contracts", f.ContractFactory),
    ("task", "tasks", f.TaskFactory),
]


def _create_url(key: str, **params: Any) -> str:
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return f"{reverse(f'crm:{key}.create')}?{query}"


@pytest.mark.parametrize(
    ("key", "param", "field", "factory"),
    FIELD_PREFILLS,
    ids=[f"{k}?{p}" for k, p, *_ in FIELD_PREFILLS],
)
def test_create_page_prefills_the_visible_parent(
    login: Any, sales_rep: Any, key: str, param: str, field: str, factory: Any
) -> None:
    parent = factory(owner=sales_rep)

    response = login(sales_rep).get(_create_url(key, **{param: parent.pk}))

    assert response.status_code == 200
    assert response.context["form"][field].value() == parent.pk


@pytest.mark.parametrize(
    ("key", "param", "field", "factory"),
    FIELD_PREFILLS,
    ids=[f"{k}?{p}" for k, p, *_ in FIELD_PREFILLS],
)
def test_create_page_with_an_invisible_parent_is_404(
    login: Any, sales_rep: Any, outsider: Any, key: str, param: str, field: str, factory: Any
) -> None:
    parent = factory(owner=outsider, **({"name": "Hidden Holdings"} if param == "company" else {}))

    response = login(sales_rep).get(_create_url(key, **{param: parent.pk}))

    assert response.status_code == 404
    assert b"Hidden Holdings" not in response.content


def test_deal_create_takes_company_and_contact_together(login: Any, sales_rep: Any) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    contact = f.ContactFactory(owner=sales_rep, company=company)

    response = login(sales_rep).get(_create_url("deal", company=company.pk, contact=contact.pk))

    form = response.context["form"]
    assert form["company"].value() == company.pk
    assert form["primary_contact"].value() == contact.pk


def test_a_malformed_parent_id_is_404_not_500(login: Any, sales_rep: Any) -> None:
    assert login(sales_rep).get(_create_url("lead", company="not-a-uuid")).status_code == 404


def test_deal_created_from_a_contact_keeps_it_as_primary_contact(
    login: Any, sales_rep: Any
) -> None:
    contact = f.ContactFactory(owner=sales_rep)
    stage = f.StageFactory(pipeline=f.PipelineFactory(is_default=True), position=0)
    data = {
        "name": "Big deal",
        "primary_contact": contact.pk,
        "pipeline": stage.pipeline_id,
        "stage": stage.pk,
        "amount": "1000",
        "currency": "USD",
    }

    response = login(sales_rep).post(_create_url("deal", contact=contact.pk), data)

    assert response.status_code == 302
    assert Deal.objects.get().primary_contact == contact


@pytest.mark.parametrize(
    ("param", "m2m", "factory"), DOCUMENT_LINKS, ids=[p for p, *_ in DOCUMENT_LINKS]
)
def test_new_document_is_linked_to_the_record_it_was_added_from(
    login: Any, sales_rep: Any, param: str, m2m: str, factory: Any
) -> None:
    parent = factory(owner=sales_rep)
    url = _create_url("document", **{param: parent.pk})
    client = login(sales_rep)

    page = client.get(url)
    response = client.post(
        url, {"name": "Spec", "kind": "other", "url": "https://files.example/spec.pdf"}
    )

    assert page.context["linked"] == [parent]
    assert response.status_code == 302
    assert list(getattr(Document.objects.get(), m2m).all()) == [parent]


@pytest.mark.parametrize(
    ("param", "m2m", "factory"), DOCUMENT_LINKS, ids=[p for p, *_ in DOCUMENT_LINKS]
)
def test_document_create_from_an_invisible_record_is_404(
    login: Any, sales_rep: Any, outsider: Any, param: str, m2m: str, factory: Any
) -> None:
    parent = factory(owner=outsider)

    assert login(sales_rep).get(_create_url("document", **{param: parent.pk})).status_code == 404
    assert Document.objects.count() == 0
