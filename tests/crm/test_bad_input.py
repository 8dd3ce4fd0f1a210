"""Inputs and stored states that used to end in a 500 or lose track of a file: each now gets a
clear answer and leaves nothing behind."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from crm import factories as f
from crm.models import Company, CustomFieldDefinition, Document, Task

pytestmark = pytest.mark.django_db


def test_a_tag_with_a_null_character_is_a_field_error(login: Any, sales_rep: Any) -> None:
    response = login(sales_rep).post(
        reverse("crm:company.create"),
        {"name": "Nul Co", "type": "customer", "status": "active", "tags": "vip\x00"},
    )
    assert response.status_code == 200
    assert "null characters" in response.content.decode()
    assert not Company.objects.filter(name="Nul Co").exists()


def test_inline_edit_names_a_broken_stored_value_elsewhere_on_the_record(
    login: Any, sales_rep: Any
) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Acme")
    # A bulk UPDATE or raw SQL left a value the form would refuse.
    Company.objects.filter(pk=company.pk).update(email="not an email")
    url = reverse("crm:company.field", args=[company.pk, "name"])
    response = login(sales_rep).post(url, {"name": "Acme 2"})
    assert response.status_code == 200
    assert "Email: Enter a valid email address." in response.content.decode()
    company.refresh_from_db()
    assert company.name == "Acme"


def test_marking_a_task_done_that_fails_its_rules_says_why_and_changes_nothing(
    login: Any, sales_rep: Any
) -> None:
    task = f.TaskFactory(owner=sales_rep, assignee=sales_rep, title="Call back")
    f.CustomFieldDefinitionFactory(
        entity="task",
        key="outcome",
        label="Outcome",
        field_type=CustomFieldDefinition.FieldType.TEXT,
        required=True,
    )
    client = login(sales_rep)
    response = client.post(reverse("crm:task.done", args=[task.pk]), follow=True)
    assert response.status_code == 200
    assert "Outcome is required" in response.content.decode()
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN


def test_bulk_deleting_documents_removes_their_stored_files(
    login: Any, sales_rep: Any, settings: Any, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    settings.MEDIA_ROOT = tmp_path
    document = f.DocumentFactory(owner=sales_rep, file=ContentFile(b"%PDF-1.4 test", "offer.pdf"))
    stored = Path(document.file.path)
    assert stored.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = login(sales_rep).post(
            reverse("crm:document.bulk"), {"action": "delete", "ids": [str(document.pk)]}
        )
    assert response.status_code == 302
    assert not Document.objects.filter(pk=document.pk).exists()
    assert not stored.exists()


def test_a_timeline_cursor_without_a_time_zone_is_read_in_the_sites(
    login: Any, sales_rep: Any
) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    f.NoteFactory(
        company=company,
        contact=None,
        lead=None,
        deal=None,
        author=sales_rep,
        body="Older than the cursor",
    )
    tomorrow = (dt.datetime.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    url = reverse("crm:company.timeline", args=[company.pk]) + f"?before={tomorrow}"
    response = login(sales_rep).get(url)
    assert response.status_code == 200
    assert "Older than the cursor" in response.content.decode()
