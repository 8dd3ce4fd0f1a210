"""Linking existing records from a detail page: a deal's contacts, a document's records
(crm/services/links.py, crm/views/links.py). Both sides are checked, links are idempotent and
audited, and the page's panel is the htmx answer."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from audit.models import AuditEvent
from crm import factories as f
from crm.models import Deal, Document
from crm.selectors.panels import related_panels
from crm.services.links import (
    deal_add_contact,
    deal_remove_contact,
    document_link,
    document_unlink,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _add_url(deal: Deal) -> str:
    return reverse("crm:deal.contact_add", args=[deal.pk])


def _remove_url(deal: Deal, contact: Any) -> str:
    return reverse("crm:deal.contact_remove", args=[deal.pk, contact.pk])


def _link_url(document: Document) -> str:
    return reverse("crm:document.link", args=[document.pk])


def _unlink_url(document: Document, entity: str, record: Any) -> str:
    return reverse("crm:document.unlink", args=[document.pk, entity, record.pk])


# --- a deal's contacts -----------------------------------------------------------------------


def test_adding_a_contact_with_htmx_answers_with_the_contacts_panel(sales_rep, login) -> None:
    deal = f.DealFactory(owner=sales_rep)
    contact = f.ContactFactory(owner=sales_rep, last_name="Lovelace")
    response = login(sales_rep).post(_add_url(deal), {"contact": contact.pk}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="panel-contacts"' in html and "Lovelace" in html
    assert 'hx-swap-oob="true"' in html and "added to the deal" in html
    assert _remove_url(deal, contact) in html
    assert list(deal.contacts.all()) == [contact]


def test_adding_a_contact_without_htmx_redirects_back_to_the_deal(sales_rep, login) -> None:
    deal = f.DealFactory(owner=sales_rep)
    contact = f.ContactFactory(owner=sales_rep)
    client = login(sales_rep)
    response = client.post(_add_url(deal), {"contact": contact.pk})
    assert response.status_code == 302
    assert response["Location"] == f"{deal.get_absolute_url()}#panel-contacts"
    assert contact in deal.contacts.all()
    page = client.get(deal.get_absolute_url()).content.decode()
    assert "added to the deal" in page and _remove_url(deal, contact) in page


def test_adding_a_contact_twice_links_it_once(sales_rep, login) -> None:
    deal = f.DealFactory(owner=sales_rep)
    contact = f.ContactFactory(owner=sales_rep)
    client = login(sales_rep)
    client.post(_add_url(deal), {"contact": contact.pk})
    response = client.post(_add_url(deal), {"contact": contact.pk}, **HTMX)
    assert "already on the deal" in response.content.decode()
    assert deal.contacts.count() == 1
    assert deal_add_contact(user=sales_rep, deal=deal, contact=contact) is False


def test_removing_a_contact_unlinks_it(sales_rep, login) -> None:
    deal = f.DealFactory(owner=sales_rep)
    contact = f.ContactFactory(owner=sales_rep, last_name="Hopper")
    deal.contacts.add(contact)
    response = login(sales_rep).post(_remove_url(deal, contact), **HTMX)
    assert response.status_code == 200
    assert "removed from the deal" in response.content.decode()
    assert not deal.contacts.exists()
    # Removing again writes nothing.
    assert deal_remove_contact(user=sales_rep, deal=deal, contact=contact) is False


def test_removing_the_primary_contact_clears_it_from_the_deal(sales_rep, login) -> None:
    contact = f.ContactFactory(owner=sales_rep)
    deal = f.DealFactory(owner=sales_rep, primary_contact=contact)
    deal.contacts.add(contact)
    response = login(sales_rep).post(_remove_url(deal, contact))
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.primary_contact_id is None and not deal.contacts.exists()


def test_contacts_panel_lists_the_primary_contact_with_a_badge(sales_rep) -> None:
    primary = f.ContactFactory(owner=sales_rep, last_name="Primary")
    deal = f.DealFactory(owner=sales_rep, primary_contact=primary)
    deal.contacts.add(f.ContactFactory(owner=sales_rep, last_name="Linked"))
    panel = related_panels(sales_rep, deal, can_add=True)[0]
    assert panel.key == "contacts" and panel.count == 2
    badges = {row.title.split()[-1]: row.badge_label for row in panel.rows}
    assert badges == {"Linked": "", "Primary": "Primary"}
    # Adding the primary contact again leaves the deal as it is.
    assert deal_add_contact(user=sales_rep, deal=deal, contact=primary) is False


def test_read_only_teammate_cannot_change_a_deals_contacts(sales_rep, teammate, login) -> None:
    deal = f.DealFactory(owner=sales_rep, shared_with_team=True)
    contact = f.ContactFactory(owner=teammate)
    linked = f.ContactFactory(owner=sales_rep, shared_with_team=True)
    deal.contacts.add(linked)
    client = login(teammate)
    assert client.post(_add_url(deal), {"contact": contact.pk}).status_code == 403
    assert client.post(_remove_url(deal, linked)).status_code == 403
    assert list(deal.contacts.all()) == [linked]
    # The page the teammate sees offers neither the form nor the buttons.
    page = client.get(deal.get_absolute_url()).content.decode()
    assert _add_url(deal) not in page and _remove_url(deal, linked) not in page
    with pytest.raises(PermissionDenied):
        deal_add_contact(user=teammate, deal=deal, contact=contact)


def test_an_outsiders_contact_is_not_found_and_never_linked(sales_rep, outsider, login) -> None:
    deal = f.DealFactory(owner=sales_rep)
    hidden = f.ContactFactory(owner=outsider)
    client = login(sales_rep)
    assert client.post(_add_url(deal), {"contact": hidden.pk}).status_code == 404
    assert client.post(_add_url(deal), {"contact": "not-a-uuid"}).status_code == 404
    assert not deal.contacts.exists()
    with pytest.raises(PermissionDenied):
        deal_add_contact(user=sales_rep, deal=deal, contact=hidden)
    assert not deal.contacts.exists()


def test_an_outsiders_deal_is_not_found(sales_rep, outsider, login) -> None:
    deal = f.DealFactory(owner=outsider)
    contact = f.ContactFactory(owner=sales_rep)
    client = login(sales_rep)
    assert client.post(_add_url(deal), {"contact": contact.pk}).status_code == 404
    assert client.post(_remove_url(deal, contact)).status_code == 404
    assert not deal.contacts.exists()


def test_adding_without_choosing_a_contact_says_so(sales_rep, login) -> None:
    deal = f.DealFactory(owner=sales_rep)
    response = login(sales_rep).post(_add_url(deal), {"contact": ""}, **HTMX)
    assert response.status_code == 200
    assert "Choose a contact" in response.content.decode()


def test_link_endpoints_refuse_get(sales_rep, login) -> None:
    deal = f.DealFactory(owner=sales_rep)
    assert login(sales_rep).get(_add_url(deal)).status_code == 405


def test_deal_contact_links_are_audited_with_the_user(sales_rep, login) -> None:
    deal = f.DealFactory(owner=sales_rep)
    contact = f.ContactFactory(owner=sales_rep)
    client = login(sales_rep)
    client.post(_add_url(deal), {"contact": contact.pk})
    client.post(_remove_url(deal, contact))
    events = AuditEvent.objects.filter(table_name="crm_deal_contacts").order_by("id")
    assert [e.action for e in events] == ["insert", "delete"]
    assert {(e.record_id, e.related_id, e.user_id) for e in events} == {
        (str(deal.pk), str(contact.pk), sales_rep.pk)
    }


def test_deal_page_offers_add_contact_picker_to_its_editor(sales_rep, login) -> None:
    deal = f.DealFactory(owner=sales_rep)
    f.ContactFactory(owner=sales_rep, last_name="Pickable")
    html = login(sales_rep).get(deal.get_absolute_url()).content.decode()
    assert f'action="{_add_url(deal)}"' in html and 'name="contact"' in html
    assert "Pickable" in html


# --- a document's records --------------------------------------------------------------------


def test_linking_a_document_with_htmx_answers_with_that_panel(sales_rep, login) -> None:
    document = f.DocumentFactory(owner=sales_rep)
    company = f.CompanyFactory(owner=sales_rep, name="Analytical Engines")
    response = login(sales_rep).post(
        _link_url(document), {"entity": "company", "record": company.pk}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="panel-companies"' in html and "Analytical Engines" in html
    assert _unlink_url(document, "company", company) in html
    assert list(document.companies.all()) == [company]


def test_linking_a_document_without_htmx_redirects_and_is_idempotent(sales_rep, login) -> None:
    document = f.DocumentFactory(owner=sales_rep)
    deal = f.DealFactory(owner=sales_rep)
    client = login(sales_rep)
    data = {"entity": "deal", "record": deal.pk}
    response = client.post(_link_url(document), data)
    assert response["Location"] == f"{document.get_absolute_url()}#panel-deals"
    client.post(_link_url(document), data)
    assert document.deals.count() == 1
    assert "Already linked" in client.get(document.get_absolute_url()).content.decode()


def test_unlinking_a_document_removes_only_that_link(sales_rep, login) -> None:
    document = f.DocumentFactory(owner=sales_rep)
    contact, other = f.ContactFactory.create_batch(2, owner=sales_rep)
    document.contacts.add(contact, other)
    response = login(sales_rep).post(_unlink_url(document, "contact", contact), **HTMX)
    assert response.status_code == 200 and "Unlinked" in response.content.decode()
    assert list(document.contacts.all()) == [other]
    assert document_unlink(user=sales_rep, document=document, record=contact) is False


def test_tasks_can_be_unlinked_from_a_document(sales_rep, login) -> None:
    document = f.DocumentFactory(owner=sales_rep)
    task = f.TaskFactory(owner=sales_rep)
    document.tasks.add(task)
    assert login(sales_rep).post(_unlink_url(document, "task", task)).status_code == 302
    assert not document.tasks.exists()


def test_read_only_teammate_cannot_link_a_document(sales_rep, teammate, login) -> None:
    document = f.DocumentFactory(owner=sales_rep, shared_with_team=True)
    company = f.CompanyFactory(owner=teammate)
    linked = f.CompanyFactory(owner=sales_rep, shared_with_team=True)
    document.companies.add(linked)
    client = login(teammate)
    data = {"entity": "company", "record": company.pk}
    assert client.post(_link_url(document), data).status_code == 403
    assert client.post(_unlink_url(document, "company", linked)).status_code == 403
    assert list(document.companies.all()) == [linked]


def test_a_record_the_user_may_only_see_is_not_linked(sales_rep, teammate, login) -> None:
    # Attaching a document changes the record: seeing a shared company is not enough.
    document = f.DocumentFactory(owner=sales_rep)
    shared = f.CompanyFactory(owner=teammate, shared_with_team=True)
    response = login(sales_rep).post(
        _link_url(document), {"entity": "company", "record": shared.pk}, **HTMX
    )
    assert response.status_code == 200 and "may not change" in response.content.decode()
    assert not document.companies.exists()
    with pytest.raises(PermissionDenied):
        document_link(user=sales_rep, document=document, record=shared)


def test_an_outsiders_record_is_not_found_and_never_linked(sales_rep, outsider, login) -> None:
    document = f.DocumentFactory(owner=sales_rep)
    hidden = f.LeadFactory(owner=outsider)
    response = login(sales_rep).post(_link_url(document), {"entity": "lead", "record": hidden.pk})
    assert response.status_code == 404
    assert not document.leads.exists()


def test_an_outsiders_document_is_not_found(sales_rep, outsider, login) -> None:
    document = f.DocumentFactory(owner=outsider)
    company = f.CompanyFactory(owner=sales_rep)
    client = login(sales_rep)
    data = {"entity": "company", "record": company.pk}
    assert client.post(_link_url(document), data).status_code == 404
    assert client.post(_unlink_url(document, "company", company)).status_code == 404
    assert not document.companies.exists()


@pytest.mark.parametrize("entity", ["invoice", "user", "document", ""])
def test_an_entity_outside_the_allow_list_is_refused(entity, sales_rep, login) -> None:
    document = f.DocumentFactory(owner=sales_rep)
    invoice = f.InvoiceFactory(owner=sales_rep)
    client = login(sales_rep)
    response = client.post(_link_url(document), {"entity": entity, "record": invoice.pk})
    assert response.status_code == 404
    if entity:
        url = reverse("crm:document.unlink", args=[document.pk, entity, invoice.pk])
        assert client.post(url).status_code == 404
    assert not document.invoices.exists()


def test_document_links_are_audited_with_the_user(sales_rep, login) -> None:
    document = f.DocumentFactory(owner=sales_rep)
    contract = f.ContractFactory(owner=sales_rep)
    client = login(sales_rep)
    client.post(_link_url(document), {"entity": "contract", "record": contract.pk})
    client.post(_unlink_url(document, "contract", contract))
    events = AuditEvent.objects.filter(table_name="crm_document_contracts").order_by("id")
    assert [e.action for e in events] == ["insert", "delete"]
    assert {(e.record_id, e.related_id, e.user_id) for e in events} == {
        (str(document.pk), str(contract.pk), sales_rep.pk)
    }


def test_document_page_offers_a_link_form_per_entity_to_its_editor(sales_rep, login) -> None:
    document = f.DocumentFactory(owner=sales_rep)
    html = login(sales_rep).get(document.get_absolute_url()).content.decode()
    assert html.count(f'action="{_link_url(document)}"') == 5
    for entity in ("company", "contact", "lead", "deal", "contract"):
        assert f'name="entity" value="{entity}"' in html


# --- panels ----------------------------------------------------------------------------------


def test_record_url_with_several_keys_equals_reverse() -> None:
    import uuid

    from django.urls import reverse

    from crm.record_urls import record_url

    deal, contact = uuid.uuid4(), uuid.uuid4()
    assert record_url("crm:deal.contact_remove", deal, contact) == reverse(
        "crm:deal.contact_remove", args=[deal, contact]
    )
    assert record_url("crm:document.unlink", deal, "company", contact) == reverse(
        "crm:document.unlink", args=[deal, "company", contact]
    )
    assert record_url("crm:contact.field", deal, "cf_tier") == reverse(
        "crm:contact.field", args=[deal, "cf_tier"]
    )
