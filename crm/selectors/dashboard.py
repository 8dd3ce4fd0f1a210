"""The dashboard's cards: my open tasks, my deals by stage, deals closing this month, recent
activity. Each card is a bounded number of queries whatever the data's size.

Recent activity and the audit log's size (think 10M rows): scanning the newest entries and
filtering them through visibility could read millions of rows for a rep who owns little. So it
starts from the records instead. `updated_at` moves with every insert and update (a trigger),
so the newest audit entries on visible records are entries on the most recently updated
visible records: if an entry is among the newest N, its record is among the N most recently
updated of its type (otherwise N newer records of that type each have a newer entry). One
query per type takes the N most recently updated visible records (the (owner, updated_at) and
updated_at indexes), one query reads the entries for those ids, newest first, from the N-th
newest `updated_at` on (audit_event_record_idx: record_id, occurred_at). Deletions are not
shown: a deleted record's visibility can no longer be checked.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F, Model, Q
from django.utils import timezone

from audit.models import AuditEvent
from crm import permissions
from crm.models import Company, Contact, Deal, Lead, Pipeline, Stage, Task
from crm.models.work import OPEN_TASK_STATUSES
from crm.selectors.stage_totals import open_deal_totals

OPEN_TASKS_LIMIT = 10
CLOSING_LIMIT = 10
ACTIVITY_LIMIT = 15
# updated_at is the app's clock for inserts, occurred_at the database's: allow for some skew.
_CLOCK_SKEW = dt.timedelta(minutes=5)
# Bookkeeping columns an activity line does not list as "changed".
_NOT_SHOWN = frozenset({"updated_at", "search_text", "created_at", "id"})

# model, the columns an activity line needs to name the record.
_ACTIVITY_MODELS: list[tuple[type[Model], tuple[str, ...]]] = [
    (Company, ("name",)),
    (Contact, ("first_name", "last_name")),
    (Lead, ("first_name", "last_name")),
    (Deal, ("name",)),
]


def my_open_tasks(*, user: Any, limit: int = OPEN_TASKS_LIMIT) -> list[Task]:
    """Open and in-progress tasks assigned to `user`, overdue first (soonest due first, no
    due date last), served by task_assignee_due_idx. Each task has `is_overdue`."""
    now = timezone.now()
    tasks = list(
        permissions.tasks_assigned_to(user)
        .filter(status__in=OPEN_TASK_STATUSES)
        .order_by(F("due_at").asc(nulls_last=True), "pk")
        .only("id", "title", "status", "priority", "due_at")[:limit]
    )
    for task in tasks:
        task.is_overdue = task.due_at is not None and task.due_at < now
    return tasks


@dataclass
class StageRow:
    stage: Stage
    count: int = 0
    totals: dict[str, Decimal] | None = None


def my_deals_by_stage(*, user: Any) -> tuple[Pipeline | None, list[StageRow], dict]:
    """(the default pipeline, one row per stage with the count and amount per currency of the
    user's own open deals there, the totals over all stages per currency and count). Read
    from the open-deal counters (crm.selectors.stage_totals), as the board's columns are."""
    pipeline = Pipeline.objects.default()
    if pipeline is None:
        return None, [], {"count": 0, "totals": {}}
    rows = [StageRow(stage, totals={}) for stage in pipeline.stages.order_by("position")]
    totals = open_deal_totals(user=user, stage_ids=[r.stage.pk for r in rows], owner_id=user.pk)
    overall: dict[str, Decimal] = defaultdict(Decimal)
    count = 0
    for row in rows:
        total = totals.get(row.stage.pk)
        if total is None:
            continue
        row.count = total.count
        row.totals = dict(total.amounts)
        for currency, amount in total.amounts.items():
            overall[currency] += amount
        count += total.count
    return pipeline, rows, {"count": count, "totals": dict(overall)}


def month_bounds(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of `today`'s month."""
    first = today.replace(day=1)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    return first, next_month - dt.timedelta(days=1)


def deals_closing_this_month(*, user: Any, limit: int = CLOSING_LIMIT) -> list[Deal]:
    """Visible open deals expected to close in the current month, soonest first
    (deal_status_close_idx: status, expected_close_date). `company_name` is the deal's
    company's name when `user` may see that company, else None (decided in the same query)."""
    first, last = month_bounds(timezone.localdate())
    return list(
        Deal.objects.visible_to(user)
        .filter(status=Deal.Status.OPEN, expected_close_date__range=(first, last))
        .select_related("owner")
        .annotate(
            company_name=permissions.if_visible(user, Company, "company_id", F("company__name"))
        )
        .order_by("expected_close_date", "pk")
        .only(
            "id",
            "name",
            "amount",
            "currency",
            "expected_close_date",
            "company_id",
            "owner__name",
            "owner__email",
        )[:limit]
    )


@dataclass(frozen=True)
class Activity:
    occurred_at: dt.datetime
    action: str  # insert / update
    verb: str  # "created", "changed"
    kind: str  # "deal"
    record: Model
    user: Any
    changed: list[str]


def _changed_labels(model: type[Model], columns: list[str] | None) -> list[str]:
    by_column = {f.column: f for f in model._meta.concrete_fields}
    labels = []
    for column in columns or []:
        if column in _NOT_SHOWN:
            continue
        field_obj = by_column.get(column)
        labels.append(str(field_obj.verbose_name) if field_obj else column)
    return labels


def recent_activity(*, user: Any, limit: int = ACTIVITY_LIMIT) -> list[Activity]:
    """The newest creations and changes on companies, contacts, leads and deals `user` may
    see, newest first, with who did it and which fields changed. One query per type plus one
    on the audit log (see the module docstring for why this is exact and cheap)."""
    records: dict[tuple[str, str], Model] = {}
    by_table: dict[str, list[str]] = {}
    newest: list[dt.datetime] = []
    for model, columns in _ACTIVITY_MODELS:
        rows = list(
            model.objects.visible_to(user)
            .order_by("-updated_at")
            .only("id", "updated_at", *columns)[:limit]
        )
        table = model._meta.db_table
        by_table[table] = [str(row.pk) for row in rows]
        for row in rows:
            records[(table, str(row.pk))] = row
            newest.append(row.updated_at)
    if not records:
        return []
    # The limit-th newest change among these records: every entry the card can show is newer.
    since = sorted(newest, reverse=True)[:limit][-1] - _CLOCK_SKEW
    condition = Q()
    for table, ids in by_table.items():
        if ids:
            condition |= Q(table_name=table, record_id__in=ids)
    events = (
        AuditEvent.objects.filter(condition, occurred_at__gte=since)
        .filter(action__in=[AuditEvent.Action.INSERT, AuditEvent.Action.UPDATE])
        .select_related("user")
        .order_by("-occurred_at", "-id")
        .only(
            "id",
            "occurred_at",
            "action",
            "table_name",
            "record_id",
            "changed_fields",
            "user__name",
            "user__email",
        )[:limit]
    )
    activity = []
    for event in events:
        record = records[(event.table_name, event.record_id)]
        activity.append(
            Activity(
                occurred_at=event.occurred_at,
                action=event.action,
                verb="created" if event.action == AuditEvent.Action.INSERT else "changed",
                kind=str(type(record)._meta.verbose_name),
                record=record,
                user=event.user,
                changed=_changed_labels(type(record), event.changed_fields),
            )
        )
    return activity
