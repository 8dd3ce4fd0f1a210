"""Reads of the audit log, shaped for templates: a record's history and the filtered log.

Callers check that the user may see the record (or is an admin) before asking for its history;
these selectors do not filter the entries by visibility. Given the reading `user`,
record_history names the records a change points to only when that user may see them. Each
runs a bounded number of queries: the entries (one index range scan, user joined), then one
query per related model to name the records that foreign keys and links point to (read
through visible_to(user) when a user is given).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from django.apps import apps as global_apps
from django.core.exceptions import ValidationError
from django.db.models import Field, ForeignKey, Model, Q, QuerySet
from django.utils.dateparse import parse_date, parse_datetime

from audit import tracking
from audit.models import AuditEvent
from audit.triggers import AuditedTable, audited_tables

# Columns a history entry does not list: keys and bookkeeping the database maintains.
_NOT_SHOWN = frozenset({"id", "created_at", "updated_at", "legacy_id"})
DEFAULT_LIMIT = 50
# What a history shown to a user (not the admin) says instead of the name of a record they may
# not see (docs/permissions.md: a page never names a record the user may not open).
HIDDEN_RECORD = "a record you cannot see"


@dataclass(frozen=True)
class FieldChange:
    """One line of a diff: a field's value before and after (None: no value on that side)."""

    name: str
    label: str
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class HistoryEntry:
    """One audit entry, ready to render."""

    id: int
    occurred_at: dt.datetime
    action: str
    action_label: str
    table_name: str | None
    record_id: str | None
    user: Any  # the acting User, or None (system, deleted user)
    source: str  # "POST /deals/1/ from 10.0.0.7", "manage.py audit_prune", "SQL (psql)"
    context: dict[str, Any]
    changes: list[FieldChange] = field(default_factory=list)
    is_link: bool = False
    snapshot: dict[str, Any] | None = None


@cache
def _tables() -> dict[str, AuditedTable]:
    return {spec.table: spec for spec in audited_tables(global_apps)}


def _model(label: str) -> type[Model]:
    return global_apps.get_model(label)


def _fields_by_column(model: type[Model]) -> dict[str, Field]:
    return {f.column: f for f in model._meta.concrete_fields}


def describe_source(event: AuditEvent) -> str:
    """Where a change came from, in one line."""
    ctx = event.context or {}
    if "command" in ctx:
        return f"manage.py {ctx['command']}"
    if "path" in ctx:
        where = f" from {ctx['ip']}" if ctx.get("ip") else ""
        return f"{ctx.get('method', '')} {ctx['path']}{where}".strip()
    return f"SQL ({ctx.get('application_name') or 'no application name'}, role {event.db_role})"


class _Names:
    """Display names of the records foreign keys and links point to, fetched per model.

    With a `user`, records the visibility layer governs (crm.permissions.governs) are read
    through `visible_to(user)`: one the user may not see, or that no longer exists, is
    HIDDEN_RECORD, never its name. Without one (the admin's history) every record is named.
    """

    def __init__(self, user: Any = None) -> None:
        self.user = user
        self.wanted: dict[type[Model], set[str]] = defaultdict(set)
        self.names: dict[tuple[type[Model], str], str] = {}

    def want(self, model: type[Model], value: Any) -> None:
        if value not in (None, "", tracking.MASK):
            self.wanted[model].add(str(value))

    def fetch(self) -> None:
        for model, ids in self.wanted.items():
            pk = model._meta.pk
            try:
                keys = [pk.to_python(i) for i in ids]
            except (ValidationError, ValueError):
                continue  # not keys of this model (hand-written SQL): the raw values are shown
            # select_related(): __str__ of some models reads a required relation (a stage's
            # pipeline); the join keeps that from becoming one query per row.
            rows = model._default_manager.select_related().filter(pk__in=keys)
            if self.user is not None and self._governed(model):
                from crm.permissions import visible_to

                rows = visible_to(self.user, rows)
            for obj in rows:
                self.names[(model, str(obj.pk))] = str(obj)

    @staticmethod
    def _governed(model: type[Model]) -> bool:
        from crm.permissions import governs

        return governs(model)

    def name(self, model: type[Model], value: Any) -> Any:
        if value in (None, "", tracking.MASK):
            return value
        found = self.names.get((model, str(value)))
        if found is not None:
            return found
        if self.user is not None and self._governed(model):
            return HIDDEN_RECORD
        return f"{model._meta.verbose_name} {value}"


def _display(field_obj: Field | None, value: Any, names: _Names) -> Any:
    """A stored JSON value as a person reads it."""
    if value is None or value == tracking.MASK:
        return "(hidden)" if value == tracking.MASK else None
    if field_obj is None:
        return value if isinstance(value, str) else json.dumps(value, default=str)
    if isinstance(field_obj, ForeignKey):
        return names.name(field_obj.related_model, value)
    if field_obj.flatchoices:
        return dict(field_obj.flatchoices).get(value, value)
    internal = field_obj.get_internal_type()
    if internal == "BooleanField":
        return "Yes" if value else "No"
    if internal == "DateTimeField" and isinstance(value, str):
        return parse_datetime(value) or value
    if internal == "DateField" and isinstance(value, str):
        return parse_date(value) or value
    if internal == "DecimalField" and isinstance(value, int | float | Decimal):
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-field_obj.decimal_places))
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _label(field_obj: Field | None, column: str) -> str:
    return str(field_obj.verbose_name).capitalize() if field_obj else column


def _column_changes(
    model: type[Model], columns: Iterable[str], old: dict, new: dict, names: _Names
) -> list[tuple[Field | None, str, Any, Any]]:
    """(field, column, old, new) per changed column; dict columns (custom fields) per key."""
    by_column = _fields_by_column(model)
    rows = []
    for column in columns:
        if column in _NOT_SHOWN:
            continue
        field_obj = by_column.get(column)
        before, after = old.get(column), new.get(column)
        if isinstance(field_obj, ForeignKey):
            names.want(field_obj.related_model, before)
            names.want(field_obj.related_model, after)
        is_dict = isinstance(before, dict | None) and isinstance(after, dict | None)
        if is_dict and (before or after):
            for key in sorted({*(before or {}), *(after or {})}):
                b, a = (before or {}).get(key), (after or {}).get(key)
                if b != a:
                    rows.append((None, f"{_label(field_obj, column)}: {key}", b, a))
            continue
        rows.append((field_obj, column, before, after))
    return rows


def _entry(event: AuditEvent, record_id: str | None, names: _Names) -> tuple[HistoryEntry, list]:
    spec = _tables().get(event.table_name or "")
    snapshot = event.snapshot or {}
    raw: list = []
    is_link = bool(spec and spec.link_field)
    if spec and is_link:
        # A link row: shown on the declaring record as "<field>: + other", and on the other
        # side as "<declaring model plural>: + declaring record".
        owner_model, other_model = _model(spec.model_label), _model(spec.related_label)
        if record_id is not None and snapshot.get(spec.related_column) == record_id:
            label = str(owner_model._meta.verbose_name_plural).capitalize()
            target_model, target = owner_model, snapshot.get(spec.key_column)
        else:
            label = str(owner_model._meta.get_field(spec.link_field).verbose_name).capitalize()
            target_model, target = other_model, snapshot.get(spec.related_column)
        names.want(target_model, target)
        before, after = (target, None) if event.action == "delete" else (None, target)
        raw.append(("link", target_model, spec.link_field, label, before, after))
    elif spec and event.action in ("insert", "update", "delete"):
        model = _model(spec.model_label)
        if event.action == "update":
            columns = event.changed_fields or []
            old = event.old_values or {}
            new = snapshot
        elif event.action == "insert":
            columns = [c for c, v in snapshot.items() if v not in (None, "", [], {})]
            old, new = {}, snapshot
        else:
            columns = [c for c, v in snapshot.items() if v not in (None, "", [], {})]
            old, new = snapshot, {}
        for field_obj, column, before, after in _column_changes(model, columns, old, new, names):
            raw.append(("field", field_obj, column, _label(field_obj, column), before, after))
    action_label = event.get_action_display()
    if is_link:
        action_label = "Link removed" if event.action == "delete" else "Link added"
    entry = HistoryEntry(
        id=event.id,
        occurred_at=event.occurred_at,
        action=event.action,
        action_label=action_label,
        table_name=event.table_name,
        record_id=event.record_id,
        user=event.user,
        source=describe_source(event),
        context=event.context or {},
        is_link=is_link,
        snapshot=event.snapshot,
    )
    return entry, raw


def _render(
    events: Sequence[AuditEvent], record_id: str | None = None, user: Any = None
) -> list[HistoryEntry]:
    names = _Names(user)
    pending = [_entry(event, record_id, names) for event in events]
    names.fetch()
    entries = []
    for entry, raw in pending:
        for kind, obj, name, label, before, after in raw:
            if kind == "link":
                change = FieldChange(name, label, names.name(obj, before), names.name(obj, after))
            else:
                change = FieldChange(
                    name, label, _display(obj, before, names), _display(obj, after, names)
                )
            entry.changes.append(change)
        entries.append(entry)
    return entries


def _tables_of(model: type[Model]) -> tuple[list[str], list[str]]:
    """(tables whose record_id is this model's key, link tables whose related_id is)."""
    label = model._meta.concrete_model._meta.label_lower
    own = [s.table for s in _tables().values() if s.model_label == label]
    other_side = [s.table for s in _tables().values() if s.related_label == label]
    return own, other_side


def record_history_queryset(*, model: type[Model], record_id: Any) -> QuerySet[AuditEvent]:
    """Every entry about one record, newest first: its own rows and the links to and from it.
    Served by audit_event_record_idx / audit_event_related_idx whatever the table's size."""
    own, other_side = _tables_of(model)
    key = str(record_id)
    condition = Q(record_id=key, table_name__in=own)
    if other_side:
        condition |= Q(related_id=key, table_name__in=other_side)
    return (
        AuditEvent.objects.filter(condition).select_related("user").order_by("-occurred_at", "-id")
    )


def record_history(
    *,
    model: type[Model],
    record_id: Any,
    limit: int = DEFAULT_LIMIT,
    before: tuple[dt.datetime, int] | None = None,
    user: Any = None,
) -> list[HistoryEntry]:
    """The history of one record, newest first, each entry with its field-by-field diff.

    Creations list the initial values, deletions the last state, updates the changed fields
    (old -> new), link rows the record added or removed. Works for deleted records too.
    `before` is the (occurred_at, id) of the last entry shown, for the next page (keyset).
    `user`: the person reading it (CRM pages); the records foreign keys and links point to
    are then named only when they may see them (HIDDEN_RECORD otherwise). None for the
    admin's history, which names everything.
    """
    queryset = record_history_queryset(model=model, record_id=record_id)
    if before is not None:
        at, entry_id = before
        queryset = queryset.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=entry_id))
    return _render(list(queryset[:limit]), record_id=str(record_id), user=user)


def audit_log(
    *,
    table: str | None = None,
    record_id: str | None = None,
    user_id: Any = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    before_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[HistoryEntry]:
    """The audit log for admins, newest first, filtered; keyset-paginated by `before_id` (the
    last id shown), so no page ever counts or skips rows. Each filter has an index: table and
    user (with id order), record, and the BRIN index on time."""
    queryset = AuditEvent.objects.select_related("user").order_by("-id")
    if table:
        queryset = queryset.filter(table_name=table)
    if record_id:
        queryset = queryset.filter(Q(record_id=record_id) | Q(related_id=record_id))
    if user_id:
        queryset = queryset.filter(user_id=user_id)
    if action:
        queryset = queryset.filter(action=action)
    if since:
        queryset = queryset.filter(occurred_at__gte=since)
    if until:
        queryset = queryset.filter(occurred_at__lt=until)
    if before_id:
        queryset = queryset.filter(id__lt=before_id)
    return _render(list(queryset[:limit]), record_id=record_id)


def audited_table_choices() -> list[tuple[str, str]]:
    """(table, "Model name (table)") for every audited table, for filter menus."""
    choices = []
    for spec in sorted(_tables().values(), key=lambda s: s.table):
        model = _model(spec.model_label)
        name = str(model._meta.verbose_name).capitalize()
        if spec.link_field:
            name = f"{name} {spec.link_field} (links)"
        choices.append((spec.table, f"{name} ({spec.table})"))
    return choices
