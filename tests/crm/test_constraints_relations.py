"""Database constraints on what notes, tasks, leads, contracts and documents link to.

Every write bypasses Django's validation (QuerySet.update(), bulk_create or raw SQL), so only
the constraints stand in the way; each refusal names the constraint PostgreSQL reported.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import models
from django.utils import timezone

from accounts.factories import UserFactory
from crm.factories import (
    CompanyFactory,
    ContactFactory,
    ContractFactory,
    DealFactory,
    DocumentFactory,
    LeadFactory,
    NoteFactory,
    TaskFactory,
)
from crm.models import (
    Contract,
    Document,
    Lead,
    Note,
    Task,
)
from tests.crm.constraint_helpers import refetch, refused_by

pytestmark = pytest.mark.django_db


# --- notes and tasks hang off at most what their columns allow --------------------------------


def _parents() -> dict[str, models.Model]:
    owner = UserFactory()
    company = CompanyFactory(owner=owner)
    return {
        "company": company,
        "contact": ContactFactory(owner=owner, company=company),
        "lead": LeadFactory(owner=owner),
        "deal": DealFactory(owner=owner, company=company),
    }


def test_note_without_a_parent_is_refused() -> None:
    with refused_by("note_exactly_one_parent"):
        Note.objects.bulk_create([Note(body="Orphan")])


@pytest.mark.parametrize(
    ("first", "second"), [("company", "contact"), ("contact", "lead"), ("lead", "deal")]
)
def test_note_with_two_parents_is_refused(first: str, second: str) -> None:
    parents = _parents()
    note = NoteFactory(**{"company": None, first: parents[first]})
    with refused_by("note_exactly_one_parent"):
        Note.objects.filter(pk=note.pk).update(**{second: parents[second]})


def test_note_with_all_four_parents_is_refused() -> None:
    with refused_by("note_exactly_one_parent"):
        Note.objects.bulk_create([Note(body="Everywhere", **_parents())])


@pytest.mark.parametrize("parent", ["company", "contact", "lead", "deal"])
def test_note_with_exactly_one_parent_is_accepted(parent: str) -> None:
    record = _parents()[parent]
    (note,) = Note.objects.bulk_create([Note(body="Called back", **{parent: record})])
    assert getattr(refetch(note), f"{parent}_id") == record.pk


def test_task_with_two_parents_is_refused() -> None:
    parents = _parents()
    task = TaskFactory(deal=parents["deal"])
    with refused_by("task_at_most_one_parent"):
        Task.objects.filter(pk=task.pk).update(company=parents["company"])


def test_task_with_four_parents_is_refused() -> None:
    with refused_by("task_at_most_one_parent"):
        Task.objects.bulk_create([Task(title="Everything", **_parents())])


def test_loose_task_without_a_parent_is_accepted() -> None:
    (task,) = Task.objects.bulk_create([Task(title="Tidy the pipeline")])
    assert refetch(task).title == "Tidy the pipeline"


@pytest.mark.parametrize("parent", ["company", "contact", "lead", "deal"])
def test_task_with_one_parent_is_accepted(parent: str) -> None:
    record = _parents()[parent]
    task = TaskFactory(**{parent: record})
    assert getattr(refetch(task), f"{parent}_id") == record.pk


@pytest.mark.parametrize("status", [Task.Status.OPEN, Task.Status.IN_PROGRESS])
def test_task_completed_at_on_an_unfinished_task_is_refused(status: str) -> None:
    task = TaskFactory(status=status)
    with refused_by("task_completed_only_when_done"):
        Task.objects.filter(pk=task.pk).update(completed_at=timezone.now())


def test_done_task_with_completed_at_is_accepted() -> None:
    task = TaskFactory()
    Task.objects.filter(pk=task.pk).update(status=Task.Status.DONE, completed_at=timezone.now())
    assert refetch(task).completed_at is not None


def test_reopening_a_done_task_without_clearing_completed_at_is_refused() -> None:
    task = TaskFactory(status=Task.Status.DONE, completed_at=timezone.now())
    with refused_by("task_completed_only_when_done"):
        Task.objects.filter(pk=task.pk).update(status=Task.Status.OPEN)


# --- leads --------------------------------------------------------------------------------------


def test_converted_lead_without_converted_at_is_refused() -> None:
    lead = LeadFactory()
    with refused_by("lead_converted_at_iff_converted"):
        Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.CONVERTED)


@pytest.mark.parametrize("status", [s for s in Lead.Status.values if s != Lead.Status.CONVERTED])
def test_converted_at_on_a_lead_not_converted_is_refused(status: str) -> None:
    lead = LeadFactory(status=status)
    with refused_by("lead_converted_at_iff_converted"):
        Lead.objects.filter(pk=lead.pk).update(converted_at=timezone.now())


def test_converted_lead_with_converted_at_is_accepted() -> None:
    lead = LeadFactory()
    Lead.objects.filter(pk=lead.pk).update(
        status=Lead.Status.CONVERTED, converted_at=timezone.now()
    )
    assert refetch(lead).status == Lead.Status.CONVERTED


# --- contracts and documents ------------------------------------------------------------------


def test_contract_ending_before_it_starts_is_refused() -> None:
    contract = ContractFactory(start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31))
    with refused_by("contract_ends_after_start"):
        Contract.objects.filter(pk=contract.pk).update(end_date=dt.date(2024, 12, 31))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date(2025, 1, 1), dt.date(2025, 1, 1)),
        (dt.date(2025, 1, 1), None),
        (None, dt.date(2025, 1, 1)),
        (None, None),
    ],
    ids=["same-day", "open-ended", "no-start", "undated"],
)
def test_contract_dates_in_order_or_open_are_accepted(
    start: dt.date | None, end: dt.date | None
) -> None:
    contract = ContractFactory()
    Contract.objects.filter(pk=contract.pk).update(start_date=start, end_date=end)
    assert (refetch(contract).start_date, refetch(contract).end_date) == (start, end)


def test_document_without_file_or_url_is_refused() -> None:
    document = DocumentFactory()
    with refused_by("document_file_or_url"):
        Document.objects.filter(pk=document.pk).update(url="", file="")


@pytest.mark.parametrize(
    ("file", "url"),
    [("documents/2025/01/offer.pdf", ""), ("", "https://files.example/offer.pdf")],
    ids=["file", "url"],
)
def test_document_with_a_file_or_a_url_is_accepted(file: str, url: str) -> None:
    (document,) = Document.objects.bulk_create([Document(name="Offer", file=file, url=url)])
    assert refetch(document).name == "Offer"
