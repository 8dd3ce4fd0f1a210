"""The timeline of a company, contact, lead or deal: notes, tasks and audit history, merged.

One list, newest first. Each source is read with its own index and cut at `limit + 1` rows
(notes by `note_<parent>_idx`, tasks by `task_<parent>_created_idx` -- the done ones sorted
from the record's tasks --, history by the audit record index), the three are merged in
Python and the page is the newest `limit` items. A page is thus a fixed number of queries
whatever the record's age. The next page starts strictly before the last item shown (a time
cursor, `before`); items sharing that exact microsecond with the last one shown could fall
between two pages, which a human timeline can live with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, QuerySet

from accounts.models import User
from audit.selectors import HistoryEntry, record_history
from crm import permissions
from crm.kept import kept_rows, stand_in
from crm.models import Note, Task

TIMELINE_LIMIT = 20
TIMELINE_MODELS = ("company", "contact", "lead", "deal")


@dataclass
class TimelineItem:
    """One line of a timeline. `kind` is "note", "task_created", "task_done" or "history";
    `obj` the Note, Task or audit HistoryEntry behind it."""

    at: dt.datetime
    kind: str
    obj: Any
    user: Any = None

    @property
    def cursor(self) -> str:
        return self.at.isoformat()


@dataclass
class TimelinePage:
    items: list[TimelineItem] = field(default_factory=list)
    has_more: bool = False

    @property
    def next_before(self) -> str | None:
        return self.items[-1].cursor if self.has_more and self.items else None


# What the timeline shows of a note and a task (_timeline_items.html), and of the people on
# them: a page reads 60 rows at most, and never their custom fields, tags or search text.
_USER_COLUMNS = ("name", "email")
_NOTE_COLUMNS = ("body", "created_at", *(f"author__{c}" for c in _USER_COLUMNS))
_TASK_COLUMNS = (
    "title",
    "status",
    "due_at",
    "created_at",
    "completed_at",
    *(f"{who}__{c}" for who in ("assignee", "owner") for c in _USER_COLUMNS),
)


def _through(user: User, record: Model, model: type[Note] | type[Task]) -> QuerySet:
    """The notes or tasks hanging off `record`. The caller has checked that `user` may see
    it; where the rules make every such row visible with it (permissions.visible_through),
    filtering them again would only cost a union of subqueries over every visible record."""
    rows = model.objects.filter(**{record._meta.model_name: record})
    return permissions.visible_under(user, rows, record)


def _history_item(entry: HistoryEntry) -> TimelineItem:
    return TimelineItem(entry.occurred_at, "history", entry, entry.user)


def record_timeline(
    *,
    user: User,
    record: Model,
    limit: int = TIMELINE_LIMIT,
    before: dt.datetime | None = None,
) -> TimelinePage:
    """The newest `limit` timeline items of `record` older than `before` (all when None).

    The caller has checked that `user` may see `record`; notes and tasks go through
    visible_to(user) unless the rules make them visible with it (`_through`). Tasks give two
    items: created (with its due date) and, once done, done. History entries come from
    audit.selectors.record_history, with field diffs and the user who acted. Three queries
    for notes and tasks (plus the visibility layer's own where it filters) and those of
    record_history.
    """
    parent = record._meta.model_name
    if parent not in TIMELINE_MODELS:
        raise ValueError(f"{parent} records have no timeline.")
    items: list[TimelineItem] = []

    # Each reads the record it is given, the kept query's stand-in (crm.kept.stand_in), never
    # `record` itself: its key would be kept in the SQL every record of its kind is read with.
    def notes(stand: Model) -> QuerySet:
        rows = _through(user, stand, Note).select_related("author").only(*_NOTE_COLUMNS)
        if before is not None:
            rows = rows.filter(created_at__lt=before)
        return rows.order_by("-created_at")[: limit + 1]

    def tasks(stand: Model) -> QuerySet:
        rows = _through(user, stand, Task).select_related("assignee", "owner")
        return rows.only(*_TASK_COLUMNS)

    # Two reads of the same index: a task is an event when created and again when done.
    def created(stand: Model) -> QuerySet:
        rows = tasks(stand)
        if before is not None:
            rows = rows.filter(created_at__lt=before)
        return rows.order_by("-created_at")[: limit + 1]

    def done(stand: Model) -> QuerySet:
        rows = tasks(stand).filter(completed_at__isnull=False)
        if before is not None:
            rows = rows.filter(completed_at__lt=before)
        return rows.order_by("-completed_at")[: limit + 1]

    # A first page's queries are compiled once per viewer's rules and kind of record (crm.kept:
    # they differ from record to record only in its key); a later page's, every time.
    rules = permissions.rules_key(user) if before is None else None
    pk_name = record._meta.pk.attname
    read = {}
    for name, build in (("notes", notes), ("created", created), ("done", done)):
        kept = None if rules is None else (rules, "timeline", parent, name, limit)
        read[name] = kept_rows(
            kept, lambda pk, build=build: build(stand_in(record, {pk_name: pk})), [record.pk]
        )
    for note in read["notes"]:
        items.append(TimelineItem(note.created_at, "note", note, note.author))
    for task in read["created"]:
        items.append(TimelineItem(task.created_at, "task_created", task, task.owner))
    for task in read["done"]:
        items.append(TimelineItem(task.completed_at, "task_done", task))

    # (before, 0): entries strictly older than the cursor (audit ids are positive).
    cursor = (before, 0) if before is not None else None
    # With the user: a change to a record they may not see does not name it.
    history = record_history(
        model=type(record), record_id=record.pk, limit=limit + 1, before=cursor, user=user
    )
    items.extend(_history_item(entry) for entry in history)

    items.sort(key=lambda item: item.at, reverse=True)
    return TimelinePage(items=items[:limit], has_more=len(items) > limit)
