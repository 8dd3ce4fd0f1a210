"""Lead conversion: one action makes a contact (and optionally a company and a deal), links
them and marks the lead converted; never twice, never without the right to change the lead."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.models import User
from crm.factories import CompanyFactory, LeadFactory
from crm.models import Company, Contact, Deal, Lead, Pipeline
from crm.services.leads import lead_convert

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(sales_rep: User) -> Lead:
    return LeadFactory(
        first_name="Ada",
        last_name="Lovelace",
        email="ada@engines.example",
        phone="+44 20 7946 0000",
        job_title="Analyst",
        company_name="Analytical Engines",
        tags=["vip", "event"],
        owner=sales_rep,
    )


def _url(lead: Lead) -> str:
    return reverse("crm:lead.convert", args=[lead.pk])


def test_converting_creates_a_linked_contact_company_and_deal(
    sales_rep: User, lead: Lead, pipeline: Pipeline
) -> None:
    result = lead_convert(
        user=sales_rep,
        lead=lead,
        create_company=True,
        company=None,
        create_deal=True,
        deal_name="Engines pilot",
        amount=Decimal("5000"),
    )
    contact, company, deal = result.contact, result.company, result.deal
    assert (contact.first_name, contact.last_name, contact.email) == (
        "Ada",
        "Lovelace",
        "ada@engines.example",
    )
    assert contact.position == "Analyst" and contact.owner == sales_rep
    assert company.name == "Analytical Engines" and contact.company == company
    assert deal.name == "Engines pilot" and deal.amount == Decimal("5000")
    assert deal.company == company and deal.primary_contact == contact
    assert list(deal.contacts.all()) == [contact]
    first_stage = pipeline.stages.order_by("position").first()
    assert (deal.pipeline, deal.stage, deal.status) == (pipeline, first_stage, Deal.Status.OPEN)
    assert contact.tags == ["vip", "event"] and deal.tags == ["vip", "event"]
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED and lead.converted_at is not None
    assert (lead.converted_contact, lead.converted_deal, lead.company) == (contact, deal, company)


def test_converting_can_link_an_existing_company_and_skip_the_deal(
    sales_rep: User, lead: Lead
) -> None:
    existing = CompanyFactory(name="Analytical Engines", owner=sales_rep)
    result = lead_convert(
        user=sales_rep, lead=lead, create_company=False, company=existing, create_deal=False
    )
    assert result.contact.company == existing and result.deal is None
    assert Company.objects.count() == 1
    lead.refresh_from_db()
    assert lead.company == existing and lead.converted_deal is None


def test_an_already_converted_lead_is_refused(sales_rep: User, lead: Lead) -> None:
    lead_convert(user=sales_rep, lead=lead, create_company=False, company=None, create_deal=False)
    with pytest.raises(ValidationError, match="already been converted"):
        lead_convert(
            user=sales_rep, lead=lead, create_company=False, company=None, create_deal=False
        )
    assert Contact.objects.count() == 1


def test_a_read_only_lead_cannot_be_converted(
    sales_rep: User, teammate: User, pipeline: Pipeline
) -> None:
    shared = LeadFactory(owner=teammate, shared_with_team=True)
    with pytest.raises(PermissionDenied):
        lead_convert(
            user=sales_rep, lead=shared, create_company=False, company=None, create_deal=False
        )
    assert not Contact.objects.exists()


def test_a_company_the_user_cannot_see_cannot_be_linked(
    sales_rep: User, outsider: User, lead: Lead
) -> None:
    hidden = CompanyFactory(owner=outsider)
    with pytest.raises(PermissionDenied):
        lead_convert(
            user=sales_rep, lead=lead, create_company=False, company=hidden, create_deal=False
        )


def test_form_is_prefilled_from_the_lead_and_defaults_to_the_matching_company(
    login: Any, sales_rep: User, lead: Lead, pipeline: Pipeline
) -> None:
    existing = CompanyFactory(name="analytical engines", owner=sales_rep)
    response = login(sales_rep).get(_url(lead))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["first_name"].value() == "Ada" and form["email"].value() == lead.email
    assert form["company"].value() == existing.pk
    assert form["create_company"].value() is False
    assert form["stage"].value() == pipeline.stages.order_by("position").first().pk


def test_posting_the_form_converts_and_redirects_to_the_new_deal(
    login: Any, sales_rep: User, lead: Lead, pipeline: Pipeline
) -> None:
    stage = pipeline.stages.get(name="Proposal")
    data = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@engines.example",
        "create_company": "on",
        "company_name": "Analytical Engines Ltd",
        "create_deal": "on",
        "deal_name": "Pilot",
        "amount": "1200",
        "stage": str(stage.pk),
    }
    response = login(sales_rep).post(_url(lead), data, follow=False)
    deal = Deal.objects.get()
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()
    assert deal.stage == stage and deal.company.name == "Analytical Engines Ltd"
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED


def test_posting_without_a_deal_redirects_to_the_contact_with_a_message(
    login: Any, sales_rep: User, lead: Lead
) -> None:
    client = login(sales_rep)
    response = client.post(_url(lead), {"last_name": "Lovelace"})
    contact = Contact.objects.get()
    assert response["Location"] == contact.get_absolute_url()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("Converted" in m for m in messages)


def test_converting_twice_through_the_form_shows_a_form_error(
    login: Any, sales_rep: User, lead: Lead
) -> None:
    client = login(sales_rep)
    client.post(_url(lead), {"last_name": "Lovelace"})
    response = client.post(_url(lead), {"last_name": "Lovelace"})
    assert response.status_code == 400
    assert "already been converted" in response.content.decode()
    assert Contact.objects.count() == 1


def test_create_company_and_pick_company_together_is_a_form_error(
    login: Any, sales_rep: User, lead: Lead
) -> None:
    existing = CompanyFactory(name="Analytical Engines", owner=sales_rep)
    data = {"last_name": "L", "create_company": "on", "company_name": "X", "company": existing.pk}
    response = login(sales_rep).post(_url(lead), data)
    assert response.status_code == 400 and not Contact.objects.exists()


def test_convert_page_is_403_for_read_only_and_404_for_invisible_leads(
    login: Any, sales_rep: User, teammate: User, outsider: User
) -> None:
    client = login(sales_rep)
    shared = LeadFactory(owner=teammate, shared_with_team=True)
    hidden = LeadFactory(owner=outsider)
    assert client.get(_url(shared)).status_code == 403
    assert client.post(_url(shared), {"last_name": "X"}).status_code == 403
    assert client.get(_url(hidden)).status_code == 404
    assert not Contact.objects.exists()


def test_convert_page_query_budget(
    login: Any, sales_rep: User, lead: Lead, pipeline: Pipeline, django_assert_max_num_queries: Any
) -> None:
    client = login(sales_rep)
    with django_assert_max_num_queries(12):
        assert client.get(_url(lead)).status_code == 200
