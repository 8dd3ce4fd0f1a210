"""Killed at any step, run again: the same database as an uninterrupted run, and a second run
changes nothing (docs/migrating-from-mongodb.md, "Resuming")."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from audit.models import AuditEvent
from migrations_mongo.fakedump import generate_dump
from migrations_mongo.pipeline import Importer, SourceChanged
from migrations_mongo.sources import DumpSource
from tests.mongo.mongo_helpers import Crash, crash_at, database_snapshot, wipe

pytestmark = pytest.mark.django_db


def snapshot() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        return database_snapshot(cursor)


def importer(folder: Path, **kwargs) -> Importer:
    return Importer(DumpSource(folder), batch_size=7, progress=None, **kwargs)


@pytest.mark.parametrize(
    ("step", "after"),
    [("converted", 1), ("rows", 4), ("links", 9), ("state", 15), ("rows", 12)],
)
def test_a_crash_inside_any_batch_resumes_to_the_same_database(nextcrm, step, after) -> None:
    importer(nextcrm).run()
    uninterrupted = snapshot()
    wipe()
    with pytest.raises(Crash):
        importer(nextcrm, hook=crash_at(step, after)).run()
    importer(nextcrm).run()
    assert snapshot() == uninterrupted


def test_a_crash_while_building_links_resumes_without_duplicates(nextcrm, monkeypatch) -> None:
    from migrations_mongo import links

    importer(nextcrm).run()
    uninterrupted = snapshot()
    wipe()
    real_chunk = links._chunk
    calls = {"n": 0}

    def chunk_then_crash(name, link):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Crash("links")
        return real_chunk(name, link)

    monkeypatch.setattr(links, "CHUNK", 5)
    monkeypatch.setattr(links, "_chunk", chunk_then_crash)
    with pytest.raises(Crash):
        importer(nextcrm).run()
    monkeypatch.setattr(links, "_chunk", real_chunk)
    importer(nextcrm).run()
    assert snapshot() == uninterrupted


def test_a_second_run_changes_nothing_and_restart_rewrites_nothing(nextcrm) -> None:
    importer(nextcrm).run()
    first = snapshot()
    row_events = AuditEvent.objects.exclude(action="bulk").count()
    bulk_events = AuditEvent.objects.filter(action="bulk").count()
    importer(nextcrm).run()  # resume: every collection is done
    assert snapshot() == first
    assert AuditEvent.objects.filter(action="bulk").count() == bulk_events
    # --restart reads everything again: rows are compared, none is rewritten or doubled.
    again = importer(nextcrm)
    again.restart()
    again.run()
    assert snapshot() == first
    assert AuditEvent.objects.exclude(action="bulk").count() == row_events


def test_each_batch_leaves_one_bulk_audit_entry_and_no_row_entries(nextcrm) -> None:
    before = AuditEvent.objects.exclude(action="bulk").count()
    importer(nextcrm).run()
    contacts = AuditEvent.objects.filter(
        action="bulk", snapshot__description="migrate_from_mongo: crm_Contacts"
    ).order_by("id")
    assert contacts.count() == -(-120 // 7)  # one per batch of 7
    first = contacts[0].snapshot
    assert first["collection"] == "crm_Contacts" and first["count"] == 7
    assert first["first_id"] < first["last_id"] or first["first_id"] != first["last_id"]
    # Only the pipeline made for NextCRM's stages is recorded row by row (outside a batch).
    rows = AuditEvent.objects.exclude(action="bulk").exclude(table_name="crm_pipeline")
    assert rows.count() == before


def test_a_checkpoint_for_another_source_is_refused(nextcrm, tmp_path) -> None:
    importer(nextcrm).run()
    other = tmp_path / "other"
    generate_dump(other, contacts=80, seed=8)
    with pytest.raises(SourceChanged, match="--restart"):
        importer(other).run()
