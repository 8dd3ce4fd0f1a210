"""Audit entries cannot be changed or removed: UPDATE and DELETE are refused by row triggers,
TRUNCATE by a statement trigger, from the ORM and from raw SQL alike."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from crm.models import Company

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(new_entries) -> AuditEvent:
    Company.objects.create(name="Evidence")
    (entry,) = new_entries()
    return entry


def _refused(write: Callable[[], object]) -> str:
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
        write()
    return str(excinfo.value)


def _sql(statement: str, params: list | None = None) -> Callable[[], None]:
    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)

    return run


def test_the_orm_cannot_update_an_entry(entry) -> None:
    assert "append-only" in _refused(
        lambda: AuditEvent.objects.filter(pk=entry.pk).update(action="delete")
    )
    entry.context = {"forged": True}
    assert "append-only" in _refused(entry.save)
    entry.refresh_from_db()
    assert "forged" not in entry.context


def test_the_orm_cannot_delete_entries(entry) -> None:
    assert "append-only" in _refused(entry.delete)
    assert "append-only" in _refused(lambda: AuditEvent.objects.all().delete())
    assert AuditEvent.objects.filter(pk=entry.pk).exists()


def test_raw_sql_cannot_update_delete_or_truncate_entries(entry) -> None:
    assert "UPDATE refused" in _refused(
        _sql("UPDATE audit_event SET user_id = NULL WHERE id = %s", [entry.pk])
    )
    assert "DELETE refused" in _refused(_sql("DELETE FROM audit_event WHERE id = %s", [entry.pk]))
    assert "TRUNCATE refused" in _refused(_sql("TRUNCATE audit_event"))
    assert AuditEvent.objects.filter(pk=entry.pk).exists()


def test_the_prune_switch_opens_delete_only_not_update(entry) -> None:
    def forged_update() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('minicrm.audit_prune', 'on', true)")
            cursor.execute("UPDATE audit_event SET action = 'insert' WHERE id = %s", [entry.pk])

    assert "UPDATE refused" in _refused(forged_update)
