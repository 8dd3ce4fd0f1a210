"""Detail pages: every entity renders its fields, panels and actions for whoever may see it,
404 for outsiders, no edit controls for read-only viewers, and a bounded number of queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from crm import factories as f
from crm.models import CustomFieldDefinition, Lead

pytestmark = pytest.mark.django_db


def _records(owner: Any) -> dict[str, Any]:
    company = f.CompanyFactory(owner=owner, name="Acme Rockets")
    contact = f.ContactFactory(owner=owner, company=company, last_name="Coyote")
    deal = f.DealFactory(owner=owner, company=company, primary_contact=contact, name="Big deal")
    return {
        "company": company,
        "contact": contact,
        "lead": f.LeadFactory(owner=owner, last_name="Leadson"),
        "deal": deal,
        "contract": f.ContractFactory(owner=owner, company=company, deal=deal, title="MSA"),
        "task": f.TaskFactory(owner=owner, company=company, title="Call back"),
        "document": f.DocumentFactory(owner=owner, name="Offer.pdf"),
    }


ENTITY_KEYS = ["company", "contact", "lead", "deal", "contract", "task", "document"]


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_owner_sees_detail_page_with_fields_and_edit_delete_actions(
    key: str, sales_rep, login
) -> None:
    record = _records(sales_rep)[key]
    response = login(sales_rep).get(record.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert str(record) in html
    assert 'class="fields"' in html
    assert reverse(f"crm:{key}.edit", args=[record.pk]) in html
    assert reverse(f"crm:{key}.delete", args=[record.pk]) in html
    assert "Sally Rep" in html  # the owner, in the header


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_outsider_gets_404_on_every_detail_page(key: str, sales_rep, outsider, login) -> None:
    record = _records(sales_rep)[key]
    assert login(outsider).get(record.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_teammate_sees_shared_record_without_edit_controls(
    key: str, sales_rep, teammate, login
) -> None:
    record = _records(sales_rep)[key]
    type(record).objects.filter(pk=record.pk).update(shared_with_team=True)
    html = login(teammate).get(record.get_absolute_url()).content.decode()
    assert reverse(f"crm:{key}.edit", args=[record.pk]) not in html
    assert reverse(f"crm:{key}.delete", args=[record.pk]) not in html
    assert "Add note" not in html and "Add task" not in html


def test_anonymous_visitor_is_sent_to_sign_in(sales_rep, client) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    response = client.get(company.get_absolute_url())
    assert response.status_code == 302 and "login" in response["Location"]


def test_company_page_lists_its_related_records_in_panels(sales_rep, login) -> None:
    records = _records(sales_rep)
    records["document"].companies.add(records["company"])
    f.LeadFactory(owner=sales_rep, company=records["company"], last_name="Prospectson")
    html = login(sales_rep).get(records["company"].get_absolute_url()).content.decode()
    for name in ("Coyote", "Big deal", "MSA", "Call back", "Offer.pdf", "Prospectson"):
        assert name in html
    company_pk = records["company"].pk
    assert f"{reverse('crm:contact.create')}?company={company_pk}" in html
    assert f"{reverse('crm:deal.create')}?company={company_pk}" in html
    assert f"{reverse('crm:document.create')}?company={company_pk}" in html


def test_panels_hide_related_records_the_viewer_may_not_see(
    sales_rep, teammate, manager, login
) -> None:
    company = f.CompanyFactory(owner=sales_rep, shared_with_team=True)
    f.ContactFactory(owner=sales_rep, company=company, last_name="Shared", shared_with_team=True)
    f.ContactFactory(owner=sales_rep, company=company, last_name="Private")
    html = login(teammate).get(company.get_absolute_url()).content.decode()
    assert "Shared" in html and "Private" not in html


def test_panel_shows_ten_rows_and_a_link_to_all(sales_rep, login) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    f.ContactFactory.create_batch(12, owner=sales_rep, company=company)
    html = login(sales_rep).get(company.get_absolute_url()).content.decode()
    assert f"{reverse('crm:contact.list')}?company={company.pk}" in html
    assert "All 12" in html


def test_contact_page_shows_its_company_and_deals_primary_and_linked(sales_rep, login) -> None:
    records = _records(sales_rep)
    linked = f.DealFactory(owner=sales_rep, name="Linked deal")
    linked.contacts.add(records["contact"])
    html = login(sales_rep).get(records["contact"].get_absolute_url()).content.decode()
    assert "Big deal" in html and "Linked deal" in html
    assert records["company"].get_absolute_url() in html


def test_foreign_key_to_an_invisible_record_is_not_named(sales_rep, outsider, login) -> None:
    hidden = f.CompanyFactory(owner=outsider, name="Secret Holdings")
    contact = f.ContactFactory(owner=sales_rep, company=hidden)
    html = login(sales_rep).get(contact.get_absolute_url()).content.decode()
    assert "Secret Holdings" not in html


def test_foreign_key_to_a_teammates_record_is_named_only_when_shared(
    sales_rep, teammate, login
) -> None:
    # Not the user's own record: the check runs its query (permissions.can_view).
    shared = f.CompanyFactory(owner=teammate, name="Shared Holdings", shared_with_team=True)
    private = f.CompanyFactory(owner=teammate, name="Private Holdings")
    client = login(sales_rep)
    for company, shown in ((shared, True), (private, False)):
        contact = f.ContactFactory(owner=sales_rep, company=company)
        html = client.get(contact.get_absolute_url()).content.decode()
        assert (company.name in html) is shown
        assert (company.get_absolute_url() in html) is shown


def test_custom_fields_show_by_definition_and_skip_undefined_keys(sales_rep, login) -> None:
    f.CustomFieldDefinitionFactory(
        entity="company",
        key="tier",
        label="Customer tier",
        field_type="choice",
        choices=["gold", "silver"],
    )
    f.CustomFieldDefinitionFactory(
        entity="company",
        key="vip",
        label="VIP",
        field_type=CustomFieldDefinition.FieldType.BOOLEAN,
    )
    company = f.CompanyFactory(owner=sales_rep)
    # Written past validation: a key whose definition an admin has since removed.
    type(company).objects.filter(pk=company.pk).update(
        custom_fields={"tier": "gold", "vip": True, "gone": "old value"}
    )
    html = login(sales_rep).get(company.get_absolute_url()).content.decode()
    card = html.split('class="card detail-custom-fields"', 1)[1].split("</section>", 1)[0]
    assert "Customer tier" in card and "gold" in card
    assert "VIP" in card and "Yes" in card
    # The history may still tell of the old key; the fields card does not show it.
    assert "gone" not in card and "old value" not in card


def test_lead_not_converted_offers_convert_to_editor_only(sales_rep, teammate, login) -> None:
    lead = f.LeadFactory(owner=sales_rep, shared_with_team=True)
    convert = reverse("crm:lead.convert", args=[lead.pk])
    assert convert in login(sales_rep).get(lead.get_absolute_url()).content.decode()
    assert convert not in login(teammate).get(lead.get_absolute_url()).content.decode()


def test_converted_lead_offers_no_convert_and_links_what_it_became(sales_rep, login) -> None:
    records = _records(sales_rep)
    lead = f.LeadFactory(owner=sales_rep)
    Lead.objects.filter(pk=lead.pk).update(
        status="converted",
        converted_at="2026-01-02T10:00:00Z",
        converted_contact=records["contact"],
        converted_deal=records["deal"],
    )
    html = login(sales_rep).get(lead.get_absolute_url()).content.decode()
    assert reverse("crm:lead.convert", args=[lead.pk]) not in html
    assert records["contact"].get_absolute_url() in html
    assert records["deal"].get_absolute_url() in html


def test_deal_page_links_to_its_pipeline_board(sales_rep, login) -> None:
    deal = _records(sales_rep)["deal"]
    html = login(sales_rep).get(deal.get_absolute_url()).content.decode()
    assert f"{reverse('crm:deal.board')}?pipeline={deal.pipeline_id}" in html
    assert "Coyote" in html  # the primary contact


def test_document_page_links_its_download_and_linked_records(sales_rep, login) -> None:
    records = _records(sales_rep)
    document = f.DocumentFactory(owner=sales_rep, url="", file="documents/2026/01/offer.pdf")
    document.deals.add(records["deal"])
    html = login(sales_rep).get(document.get_absolute_url()).content.decode()
    assert reverse("crm:document.download", args=[document.pk]) in html
    assert "Big deal" in html


def test_task_page_shows_its_record_and_comments(sales_rep, login) -> None:
    task = _records(sales_rep)["task"]
    f.TaskCommentFactory(task=task, author=sales_rep, body="Left a voicemail")
    html = login(sales_rep).get(task.get_absolute_url()).content.decode()
    assert "Acme Rockets" in html and "Left a voicemail" in html


def test_board_task_page_shows_its_board_and_section(sales_rep, login) -> None:
    section = f.SectionFactory(
        board=f.BoardFactory(owner=sales_rep, title="Launch"), title="Doing"
    )
    task = f.TaskFactory(owner=sales_rep, section=section)
    html = login(sales_rep).get(task.get_absolute_url()).content.decode()
    assert "Launch" in html and "Doing" in html
