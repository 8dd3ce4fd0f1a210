"""Undo restores exactly, refuses rows changed since; all or nothing; a stopped import resumes."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from audit.models import AuditEvent
from crm.factories import ContactFactory, NoteFactory
from crm.imports.engine import Importer
from crm.models import Company, Contact, Deal, ImportRow, ImportRun
from crm.services.imports import import_advance, import_commit, import_undo
from tests.imports.import_helpers import check, run_import, upload

pytestmark = pytest.mark.django_db


def undo(user, run: ImportRun) -> ImportRun:
    run = import_undo(user=user, run=run)
    return import_advance(user=user, run=run, seconds=None)


def snapshot(model) -> list[tuple]:
    fields = [f.attname for f in model._meta.concrete_fields if f.attname != "updated_at"]
    return sorted(model.objects.values_list(*fields))


def test_undo_deletes_created_and_restores_updated_exactly(sales_rep):
    kept = ContactFactory(last_name="Kept", email="k@example.com", owner=sales_rep, phone="1",
                          tags=["a"], custom_fields={})  # fmt: skip
    before = snapshot(Contact)
    data = (
        "Last name,Email,Phone,Tags,Company\n"
        "New last,k@example.com,2,b; c,Acme\n"
        "X,x@example.com,,,Acme\n"
    )
    run = run_import(sales_rep, "contact", data, create_related=True)
    assert (run.created, run.updated) == (1, 1)
    assert Company.objects.filter(name="Acme").exists()
    run = undo(sales_rep, run)
    assert run.status == ImportRun.Status.UNDONE and run.undo_kept == 0
    assert snapshot(Contact) == before
    assert not Company.objects.filter(name="Acme").exists()  # made for the file, gone too
    kept.refresh_from_db()
    assert kept.updated_at > kept.created_at
    # Each undo write is on record, attributed to the undo of this import.
    undo_entries = AuditEvent.objects.filter(context__csv_import_undo=str(run.pk))
    assert {e.action for e in undo_entries} == {"update", "delete"}


def test_import_writes_carry_the_import_in_the_audit_context(sales_rep):
    run = run_import(sales_rep, "contact", "Last name\nA\nB\n", mode="create", match_on="")
    entries = AuditEvent.objects.filter(context__csv_import=str(run.pk), table_name="crm_contact")
    assert entries.count() == 2
    assert {e.user_id for e in entries} == {sales_rep.pk}


def test_undo_keeps_rows_changed_since_and_says_why(sales_rep):
    data = "Last name,Email\nA,a@example.com\nB,b@example.com\nC,c@example.com\n"
    run = run_import(sales_rep, "contact", data)
    Contact.objects.filter(email="a@example.com").update(phone="555")  # someone's later work
    NoteFactory(contact=Contact.objects.get(email="b@example.com"), company=None, author=sales_rep)
    run = undo(sales_rep, run)
    assert run.undo_kept == 2
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "a@example.com",
        "b@example.com",
    }
    why = dict(run.rows.exclude(undo="undone").values_list("number", "undo"))
    assert why[2].startswith("changed since the import")
    assert why[3] == "other records now refer to it (notes)"


def test_only_the_author_or_an_admin_may_undo(sales_rep, teammate, admin_user):
    run = run_import(sales_rep, "contact", "Last name\nA\n", mode="create", match_on="")
    with pytest.raises(PermissionDenied):
        import_undo(user=teammate, run=run)
    assert undo(admin_user, run).status == ImportRun.Status.UNDONE
    with pytest.raises(ValidationError):
        import_undo(user=sales_rep, run=run)  # twice is refused


def test_all_or_nothing_refuses_to_start_when_the_check_found_errors(sales_rep):
    data = "Last name,Email\nA,a@example.com\nB,bad\n"
    run = check(sales_rep, upload(sales_rep, "contact", data), on_error="all")
    assert (run.status, run.failed) == (ImportRun.Status.CHECKED, 1)
    with pytest.raises(ValidationError):
        import_commit(user=sales_rep, run=run)
    assert not Contact.objects.exists()


def test_all_or_nothing_undoes_written_rows_when_a_row_fails_while_writing(
    sales_rep, outsider, monkeypatch
):
    monkeypatch.setattr("crm.imports.engine.CHUNK_ROWS", 2)
    rows = "".join(f"N{i},n{i}@example.com\n" for i in range(5))
    run = check(
        sales_rep, upload(sales_rep, "contact", f"Last name,Email\n{rows}"), on_error="all"
    )
    assert run.failed == 0
    run = import_commit(user=sales_rep, run=run)
    # Between the check and the import, another team's contact takes row 5's email.
    ContactFactory(email="n3@example.com", owner=outsider)
    run = import_advance(user=sales_rep, run=run, seconds=None)
    run = import_advance(user=sales_rep, run=run, seconds=None)  # the undo
    assert run.status == ImportRun.Status.UNDONE
    assert "Row 5 failed" in run.message
    assert list(Contact.objects.values_list("email", flat=True)) == ["n3@example.com"]


def test_a_stopped_import_resumes_without_duplicates_or_gaps(sales_rep):
    rows = "".join(f"N{i},n{i}@example.com\n" for i in range(7))
    run = check(sales_rep, upload(sales_rep, "contact", f"Last name,Email\n{rows}"))
    run = import_commit(user=sales_rep, run=run)
    Importer(run, sales_rep).step(3)  # a closed tab, a killed command: one chunk committed
    with pytest.raises(RuntimeError), connection.execute_wrapper(_fail_on_importrow):
        Importer(run, sales_rep).step(3)  # dies inside the next chunk: nothing of it stays
    assert Contact.objects.count() == 3
    run = import_advance(user=sales_rep, run=ImportRun.objects.get(pk=run.pk), seconds=None)
    assert (run.status, run.created) == (ImportRun.Status.DONE, 7)
    assert sorted(Contact.objects.values_list("last_name", flat=True)) == [
        f"N{i}" for i in range(7)
    ]
    assert list(run.rows.values_list("number", flat=True)) == list(range(2, 9))


def _fail_on_importrow(execute, sql, params, many, context):
    # The chunk's last statement, after its records and outcomes are written: dying here
    # must take them all back.
    if sql.startswith('UPDATE "crm_importrun"'):
        raise RuntimeError("killed")
    return execute(sql, params, many, context)


def test_deals_move_stage_on_update_and_close(sales_rep, stages):
    data = "Name,Legacy ID,Stage,Amount\nBig deal,d-1,Qualification,100\n"
    run_import(sales_rep, "deal", data, match_on="legacy_id")
    deal = Deal.objects.get(legacy_id="d-1")
    assert (deal.status, deal.stage.name) == ("open", "Qualification")
    won = next(name for name, s in stages.items() if s.is_won)
    run = run_import(sales_rep, "deal", f"Legacy ID,Stage\nd-1,{won}\n", mode="update",
                     match_on="legacy_id")  # fmt: skip
    deal.refresh_from_db()
    assert (run.updated, deal.status, deal.stage.name) == (1, "won", won)
    assert deal.closed_at is not None
    assert ImportRow.objects.filter(run=run, action="update").count() == 1


def test_an_edit_made_before_the_import_reached_the_row_does_not_block_undo(sales_rep):
    contact = ContactFactory(last_name="Before", email="e@example.com", owner=sales_rep)
    rows = "".join(f"N{i},n{i}@example.com\n" for i in range(3))
    run = check(
        sales_rep, upload(sales_rep, "contact", f"Last name,Email\n{rows}After,e@example.com\n")
    )
    run = import_commit(user=sales_rep, run=run)
    Importer(run, sales_rep).step(1)
    # Someone edits the contact while the import is still on earlier rows.
    Contact.objects.filter(pk=contact.pk).update(phone="42")
    run = import_advance(user=sales_rep, run=ImportRun.objects.get(pk=run.pk), seconds=None)
    assert run.updated == 1
    run = undo(sales_rep, run)
    contact.refresh_from_db()
    assert (run.undo_kept, contact.last_name, contact.phone) == (0, "Before", "42")
