"""Undo of a CSV import: delete what it created, restore what it updated, from the audit trail.

Each record the import wrote has an audit entry carrying the import's id (`csv_import` in the
entry's context). Undo walks the import's rows newest first, a chunk per transaction:
- a record changed after the import (any later audit entry about it, or a link to it added
  since) is left as it is, and the row says why: undo never overwrites someone's later work;
- a created record that other records now point to (a note, a deal, a task) is kept too, since
  deleting it would delete or unlink them;
- otherwise a created record is deleted, and an updated one gets back the previous values of
  the columns the import changed (the entry's `old_values`).
Undo's own writes carry `csv_import_undo`, so the history says what happened and why.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import models, transaction
from django.db.models import Model, Q
from django.utils import timezone

from audit.context import audit_context_with
from audit.models import AuditEvent
from crm.entities import ENTITIES
from crm.models import Company, ImportRow, ImportRun

CHUNK = 500


def undo_step(run: ImportRun, user: Any, *, chunk: int = CHUNK) -> bool:
    """Undo the next chunk of `run`'s rows (newest first); True when every row is done."""
    with (
        transaction.atomic(),
        audit_context_with(user_id=str(user.pk), csv_import_undo=str(run.pk)),
    ):
        run = ImportRun.objects.select_for_update().get(pk=run.pk)
        # The rows' records first, newest first; then the companies made for them, which
        # those records pointed at.
        pending = ImportRow.objects.filter(run=run, undo="").order_by("-id")
        rows = list(
            pending.filter(action__in=[ImportRow.Action.CREATE, ImportRow.Action.UPDATE])[:chunk]
        )
        rows = rows or list(pending.filter(action=ImportRow.Action.RELATED)[:chunk])
        if not rows:
            run.status = ImportRun.Status.UNDONE
            run.undone_at = timezone.now()
            run.undone_by = user
            run.save()
            return True
        model = ENTITIES[run.entity].model
        for target, group in _by_model(model, rows).items():
            _undo_group(run, target, group)
        ImportRow.objects.bulk_update(rows, ["undo"])
        run.undo_kept += sum(1 for r in rows if r.undo != DONE)
        run.save()
        return False


DONE = "undone"


def _by_model(model: type[Model], rows: list[ImportRow]) -> dict[type[Model], list[ImportRow]]:
    groups: dict[type[Model], list[ImportRow]] = defaultdict(list)
    for row in rows:
        groups[Company if row.action == ImportRow.Action.RELATED else model].append(row)
    return groups


def _undo_group(run: ImportRun, model: type[Model], rows: list[ImportRow]) -> None:
    ids = [str(r.record_id) for r in rows]
    own, later = _history(run, model, ids)
    existing = {str(pk): obj for pk, obj in model._base_manager.in_bulk(ids).items()}
    deletable = [r for r in rows if r.action != ImportRow.Action.UPDATE]
    pointed = _pointed_at(model, [str(r.record_id) for r in deletable])
    restore: list[tuple[Model, dict[str, Any]]] = []
    delete: list[str] = []
    for row in rows:
        pk = str(row.record_id)
        if pk not in existing:
            row.undo = "already deleted"
        elif pk in later:
            row.undo = f"changed since the import ({later[pk]:%Y-%m-%d %H:%M})"
        elif row.action == ImportRow.Action.UPDATE:
            event = own.get(pk)
            if event is None:
                row.undo = "no record of the import's change in the audit log"
                continue
            restore.append((existing[pk], event.old_values or {}))
            row.undo = DONE
        elif pk in pointed:
            row.undo = f"other records now refer to it ({pointed[pk]})"
        else:
            delete.append(pk)
            row.undo = DONE
    if delete:
        model._base_manager.filter(pk__in=delete).delete()
    if restore:
        _restore(model, restore)


def _history(run: ImportRun, model: type[Model], ids: list[str]) -> tuple[dict, dict]:
    """The import's own audit entry per record, and when each record last changed after it
    (an entry about it, or a link to it, not written by this import)."""
    events = AuditEvent.objects.filter(
        Q(record_id__in=ids, table_name=model._meta.db_table) | Q(related_id__in=ids),
        occurred_at__gte=run.started_at,
    ).order_by("id")
    wanted = set(ids)
    own: dict[str, AuditEvent] = {}
    later: dict[str, Any] = {}
    for event in events.only(
        "id",
        "record_id",
        "related_id",
        "occurred_at",
        "context",
        "old_values",
        "action",
        "table_name",
    ):
        pk = event.record_id if event.record_id in wanted else event.related_id
        if event.context.get("csv_import") == str(run.pk) and event.record_id == pk:
            own.setdefault(pk, event)
        elif pk in own and event.context.get("csv_import_undo") != str(run.pk):
            # Only what came after the import's own write counts: an edit made while the
            # import was still on earlier rows is history the import already built on.
            later[pk] = event.occurred_at
    return own, later


def _pointed_at(model: type[Model], ids: list[str]) -> dict[str, str]:
    """Record id -> what points at it, for records other rows now refer to."""
    found: dict[str, str] = {}
    if not ids:
        return found
    for relation in model._meta.related_objects:
        if not (relation.one_to_many or relation.one_to_one):
            continue
        column = relation.field.name
        referring = relation.related_model._base_manager.filter(**{f"{column}__in": ids})
        if relation.related_model is model:
            referring = referring.exclude(pk__in=ids)  # rows undone together
        for pk in referring.values_list(relation.field.attname, flat=True).distinct()[:1000]:
            found.setdefault(str(pk), str(relation.related_model._meta.verbose_name_plural))
    return found


def _restore(model: type[Model], items: list[tuple[Model, dict[str, Any]]]) -> None:
    by_column = {f.column: f for f in model._meta.concrete_fields}
    names: set[str] = set()
    records = []
    for record, old in items:
        for column, value in old.items():
            field = by_column.get(column)
            # updated_at is left to the touch trigger: undoing is a change, made now.
            skipped = field is None or field.name == "updated_at"
            if skipped or isinstance(field, models.GeneratedField):
                continue
            setattr(record, field.attname, field.to_python(value) if value is not None else None)
            names.add(field.attname)
        records.append(record)
    if names:
        model._base_manager.bulk_update(records, sorted(names))
