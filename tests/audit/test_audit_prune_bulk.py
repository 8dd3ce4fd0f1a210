"""The two sanctioned ways around one-entry-per-row: retention (audit_prune, itself audited)
and the bulk opt-out (one summary entry per batch, never the default)."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from audit.bulk import audit_bulk_batch
from audit.models import AuditEvent
from crm.models import Company, Contact

pytestmark = pytest.mark.django_db


def _old_entry(when: str) -> int:
    # The log only grows forwards; an old entry is planted the way an old database has them.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_event (occurred_at, action, table_name, record_id, snapshot)"
            " VALUES (%s, 'insert', 'crm_company', 'old', '{}') RETURNING id",
            [when],
        )
        return cursor.fetchone()[0]


def test_prune_removes_entries_before_the_date_and_records_itself(new_entries) -> None:
    old = [_old_entry("2020-03-01T00:00:00Z"), _old_entry("2020-12-31T23:00:00Z")]
    kept = _old_entry("2021-01-02T00:00:00Z")
    recent = Company.objects.create(name="Recent")
    out = StringIO()

    call_command("audit_prune", "--before", "2021-01-01", stdout=out)

    assert "Deleted 2 audit log entries from before 2021-01-01" in out.getvalue()
    assert not AuditEvent.objects.filter(pk__in=old).exists()
    assert AuditEvent.objects.filter(pk=kept).exists()
    assert AuditEvent.objects.filter(record_id=str(recent.pk)).exists()
    (prune,) = new_entries(action="prune")
    assert prune.table_name == "audit_event"
    assert prune.snapshot["deleted"] == 2 and prune.snapshot["before"].startswith("2021-01-01")
    assert prune.context["command"] == "audit_prune"
    assert prune.context["options"]["before"] == "2021-01-01"


def test_prune_refuses_a_future_date_and_a_malformed_one() -> None:
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    with pytest.raises(CommandError, match="future"):
        call_command("audit_prune", "--before", tomorrow)
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("audit_prune", "--before", "01/02/2020")


def test_a_bulk_batch_writes_one_summary_entry_and_no_row_entries(
    actor, acting, new_entries
) -> None:
    with (
        acting(),
        audit_bulk_batch(
            description="migrate_from_mongo: contacts",
            details={"collection": "contacts", "first_id": "65a0", "last_id": "65a4", "count": 5},
        ) as batch_id,
    ):
        contacts = Contact.objects.bulk_create([Contact(last_name=f"Imp {i}") for i in range(5)])
        Contact.objects.filter(pk__in=[c.pk for c in contacts]).update(city="Imported")
        contacts[0].delete()

    entries = new_entries()
    assert [(e.id, e.action) for e in entries] == [(batch_id, "bulk")]
    (summary,) = entries
    assert summary.table_name is None and summary.user_id == actor.pk
    assert summary.snapshot == {
        "description": "migrate_from_mongo: contacts",
        "collection": "contacts",
        "first_id": "65a0",
        "last_id": "65a4",
        "count": 5,
    }
    assert summary.context["request_id"] == "req-test-1"


def test_each_batch_has_its_own_summary_and_writes_after_a_batch_are_audited(
    new_entries,
) -> None:
    with transaction.atomic():
        for n in range(2):
            with audit_bulk_batch(description=f"batch {n}"):
                Company.objects.create(name=f"In batch {n}")
        after = Company.objects.create(name="After the batches")
    assert [e.action for e in new_entries()] == ["bulk", "bulk", "insert"]
    assert new_entries()[-1].record_id == str(after.pk)


def test_a_failed_batch_leaves_neither_rows_nor_summary(new_entries) -> None:
    with pytest.raises(RuntimeError), audit_bulk_batch(description="doomed"):
        Company.objects.create(name="Rolled back")
        raise RuntimeError("source unreadable")
    assert new_entries() == []
    assert not Company.objects.filter(name="Rolled back").exists()
    # And the opt-out did not outlive the batch:
    Company.objects.create(name="Audited again")
    assert [e.action for e in new_entries()] == ["insert"]


def test_the_bulk_switch_set_by_hand_silences_nothing(new_entries) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('minicrm.audit_bulk', '1', true)")
    Company.objects.create(name="Not a batch")
    assert [e.action for e in new_entries()] == ["insert"]
