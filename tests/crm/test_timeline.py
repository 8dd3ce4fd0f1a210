"""The timeline merges notes, tasks and the audit history of a record, newest first, pages
back with a time cursor, and names the user behind each change."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.context import audit_context
from crm import factories as f
from crm.models import Company, Note, Task
from crm.selectors.timeline import record_timeline

pytestmark = pytest.mark.django_db


def _at(minutes_ago: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=minutes_ago)


def test_timeline_merges_notes_tasks_and_history_newest_first(sales_rep) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    note = f.NoteFactory(author=sales_rep, company=company, body="Met at the fair")
    Note.objects.filter(pk=note.pk).update(created_at=_at(30))
    task = f.TaskFactory(owner=sales_rep, company=company, title="Send offer")
    Task.objects.filter(pk=task.pk).update(created_at=_at(20), status="done", completed_at=_at(10))
    page = record_timeline(user=sales_rep, record=company)
    # The company was created just now, after the back-dated note and task.
    assert [item.kind for item in page.items] == ["history", "task_done", "task_created", "note"]
    assert page.items[0].obj.action == "insert"
    assert not page.has_more


def test_timeline_pages_back_with_a_time_cursor_without_repeats(sales_rep) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    for minutes in range(1, 26):
        note = f.NoteFactory(author=sales_rep, company=company, body=f"note {minutes}")
        Note.objects.filter(pk=note.pk).update(created_at=_at(minutes))
    first = record_timeline(user=sales_rep, record=company, limit=10)
    assert first.has_more and len(first.items) == 10
    second = record_timeline(user=sales_rep, record=company, limit=10, before=first.items[-1].at)
    third = record_timeline(user=sales_rep, record=company, limit=10, before=second.items[-1].at)
    seen = [getattr(i.obj, "pk", i.obj.id) for page in (first, second, third) for i in page.items]
    assert len(seen) == len(set(seen)) == 26  # 25 notes and the company's creation
    assert not third.has_more


def test_timeline_shows_field_changes_with_the_acting_users_name(sales_rep, login) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Old Name Ltd")
    with audit_context({"user_id": sales_rep.pk, "path": "/test/"}):
        company.name = "New Name Ltd"
        company.save()
    html = login(sales_rep).get(company.get_absolute_url()).content.decode()
    timeline = html.split('id="timeline"', 1)[1]
    assert "Sally Rep" in timeline
    assert "Old Name Ltd" in timeline and "New Name Ltd" in timeline
    assert "tl-old" in timeline and "tl-new" in timeline


def test_change_made_through_the_app_appears_with_the_users_name(sales_rep, login) -> None:
    company = f.CompanyFactory(owner=sales_rep, phone="111")
    client = login(sales_rep)
    url = reverse("crm:company.field", args=[company.pk, "phone"])
    assert client.post(url, {"phone": "222-333"}, HTTP_HX_REQUEST="true").status_code == 200
    assert Company.objects.get(pk=company.pk).phone == "222-333"
    timeline = client.get(company.get_absolute_url()).content.decode().split('id="timeline"')[1]
    assert "Sally Rep" in timeline and "222-333" in timeline


def test_older_link_loads_the_next_page_as_a_fragment(sales_rep, login) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    for minutes in range(1, 30):
        note = f.NoteFactory(author=sales_rep, company=company, body=f"entry number {minutes}")
        Note.objects.filter(pk=note.pk).update(created_at=_at(minutes))
    client = login(sales_rep)
    html = client.get(company.get_absolute_url()).content.decode()
    assert "entry number 1<" in html and "entry number 25<" not in html
    timeline_url = reverse("crm:company.timeline", args=[company.pk])
    assert f'hx-get="{timeline_url}?before=' in html
    page = record_timeline(user=sales_rep, record=company)
    response = client.get(timeline_url, {"before": page.next_before})
    fragment = response.content.decode()
    assert response.status_code == 200 and "<html" not in fragment
    assert "entry number 25<" in fragment and "entry number 1<" not in fragment


def test_timeline_fragment_is_404_for_an_outsider(sales_rep, outsider, login) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    url = reverse("crm:company.timeline", args=[company.pk])
    assert login(outsider).get(url).status_code == 404


@pytest.mark.parametrize("key", ["contact", "lead", "deal"])
def test_every_timeline_entity_shows_its_notes_and_tasks(key, sales_rep, login) -> None:
    factory = {"contact": f.ContactFactory, "lead": f.LeadFactory, "deal": f.DealFactory}[key]
    record = factory(owner=sales_rep)
    f.NoteFactory(author=sales_rep, **{"company": None, key: record}, body="A note here")
    f.TaskFactory(owner=sales_rep, title="A task here", **{key: record})
    html = login(sales_rep).get(record.get_absolute_url()).content.decode()
    timeline = html.split('id="timeline"', 1)[1]
    assert "A note here" in timeline and "A task here" in timeline
