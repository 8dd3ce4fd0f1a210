"""Inline add of a note or a task from a record's timeline, with htmx and without."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from crm import factories as f
from crm.models import Note, Task
from crm.services.notes import note_create

pytestmark = pytest.mark.django_db


def _note_url(record, entity: str = "company") -> str:
    return reverse("crm:note.create", args=[entity, record.pk])


def _task_url(record, entity: str = "company") -> str:
    return reverse("crm:task.quick_create", args=[entity, record.pk])


def test_htmx_note_add_returns_the_timeline_with_the_note_and_a_fresh_form(
    sales_rep, login
) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    response = login(sales_rep).post(
        _note_url(company), {"body": "Called, interested"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="timeline"' in html and "<html" not in html
    assert "Called, interested" in html
    assert "Note added." in html and 'hx-swap-oob="true"' in html
    # The form comes back empty: the note's text is in the timeline only, not the textarea.
    assert "Called, interested</textarea>" not in html
    note = Note.objects.get(company=company)
    assert note.author == sales_rep and note.body == "Called, interested"


def test_plain_note_add_redirects_back_to_the_record(sales_rep, login) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    response = login(sales_rep).post(_note_url(company), {"body": "Plain post"})
    assert response.status_code == 302
    assert response["Location"] == f"{company.get_absolute_url()}#timeline"
    assert Note.objects.filter(company=company, body="Plain post").exists()


@pytest.mark.parametrize("htmx", [True, False])
def test_empty_note_is_a_field_error_not_a_500(htmx, sales_rep, login) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = login(sales_rep).post(_note_url(company), {"body": "   "}, **headers)
    assert response.status_code == (200 if htmx else 400)
    assert "This field is required." in response.content.decode()
    assert not Note.objects.exists()


def test_read_only_teammate_gets_403_when_adding_a_note_or_task(
    sales_rep, teammate, login
) -> None:
    company = f.CompanyFactory(owner=sales_rep, shared_with_team=True)
    client = login(teammate)
    assert client.post(_note_url(company), {"body": "Hi"}).status_code == 403
    assert client.post(_task_url(company), {"title": "Hi"}).status_code == 403
    assert not Note.objects.exists() and not Task.objects.exists()


def test_outsider_gets_404_when_adding_a_note(sales_rep, outsider, login) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    assert login(outsider).post(_note_url(company), {"body": "Hi"}).status_code == 404


def test_note_on_an_entity_without_a_timeline_is_404(sales_rep, login) -> None:
    contract = f.ContractFactory(owner=sales_rep)
    assert login(sales_rep).post(_note_url(contract, "contract"), {"body": "x"}).status_code == 404


def test_note_add_needs_a_csrf_token(sales_rep) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(sales_rep)
    company = f.CompanyFactory(owner=sales_rep)
    assert client.post(_note_url(company), {"body": "x"}).status_code == 403


def test_get_on_the_note_endpoint_is_refused(sales_rep, login) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    assert login(sales_rep).get(_note_url(company)).status_code == 405


def test_htmx_task_add_creates_an_assigned_task_and_shows_it(sales_rep, teammate, login) -> None:
    deal = f.DealFactory(owner=sales_rep)
    response = login(sales_rep).post(
        _task_url(deal, "deal"),
        {"title": "Send the offer", "due_date": "2026-03-02", "assignee": teammate.pk},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Send the offer" in html
    task = Task.objects.get(deal=deal)
    assert task.owner == sales_rep and task.assignee == teammate
    assert task.due_at.date().isoformat() == "2026-03-02"


def test_plain_task_add_defaults_the_assignee_to_me_and_redirects(sales_rep, login) -> None:
    contact = f.ContactFactory(owner=sales_rep)
    response = login(sales_rep).post(_task_url(contact, "contact"), {"title": "Call"})
    assert response.status_code == 302
    task = Task.objects.get(contact=contact)
    assert task.assignee == sales_rep and task.due_at is None


def test_task_add_refuses_an_assignee_outside_the_team(sales_rep, outsider, login) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    response = login(sales_rep).post(
        _task_url(company), {"title": "x", "assignee": outsider.pk}, HTTP_HX_REQUEST="true"
    )
    assert "Select a valid choice" in response.content.decode()
    assert not Task.objects.exists()


def test_note_create_service_refuses_a_user_who_may_not_change_the_record(
    sales_rep, teammate
) -> None:
    company = f.CompanyFactory(owner=sales_rep, shared_with_team=True)
    with pytest.raises(PermissionDenied):
        note_create(user=teammate, parent=company, body="Hi")


def test_note_create_service_refuses_a_blank_body(sales_rep) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    with pytest.raises(ValidationError) as info:
        note_create(user=sales_rep, parent=company, body="  ")
    assert "body" in info.value.message_dict


def test_manager_may_add_a_note_to_a_team_record(sales_rep, manager, login) -> None:
    lead = f.LeadFactory(owner=sales_rep)
    response = login(manager).post(_note_url(lead, "lead"), {"body": "Push this"})
    assert response.status_code == 302
    assert Note.objects.get(lead=lead).author == manager
