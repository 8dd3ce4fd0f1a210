"""Reads of the task pages: "my tasks" grouped by due date, and a project board's columns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F
from django.utils import timezone

from accounts.models import User
from crm import permissions
from crm.models import Board, Company, Contact, Deal, Lead, Section, Task
from crm.models.work import OPEN_TASK_STATUSES, PARENT_FIELDS

MY_TASKS_LIMIT = 200
DONE_LIMIT = 50
_PARENT_MODELS = {"company": Company, "contact": Contact, "lead": Lead, "deal": Deal}
# The columns a parent's name is made of (its __str__); a board card's board, by its section.
_SHOWN = {
    Company: ("name",),
    Contact: ("first_name", "last_name"),
    Lead: ("first_name", "last_name"),
    Deal: ("name",),
}
_BOARD = ("board_id", "board__title")


@dataclass
class TaskGroup:
    key: str
    title: str
    tasks: list[Task] = field(default_factory=list)


# What a row of "my tasks" shows and groups by: no custom fields, body or search text.
_ROW_COLUMNS = (
    "id",
    "title",
    "status",
    "priority",
    "due_at",
    "created_at",
    "completed_at",
    *(f"{name}_id" for name in PARENT_FIELDS),
    "section_id",
)


def _mine(user: User, statuses: tuple[str, ...], order: tuple[Any, ...], limit: int) -> list[Task]:
    """The first `limit` tasks in `order` that are `user`'s to do: assigned to them, or theirs
    and assigned to nobody.

    Two ordered arms, each LIMITed, merged: PostgreSQL walks task_assignee_open_due_idx and
    task_owner_unassigned_due_idx in due order and stops at `limit`. Written as one OR, it
    read all of a rep's open tasks (12,456 at 300k tasks), joined each to its assignee and
    sorted them: 31-37 ms. Both arms are visible by the task rule's assignee and owner arms
    (permissions.tasks_assigned_to / tasks_owned_by), so the whole rule is not built."""
    arms = [
        permissions.tasks_assigned_to(user),
        permissions.tasks_owned_by(user).filter(assignee__isnull=True),
    ]
    first = [
        arm.filter(status__in=statuses).only(*_ROW_COLUMNS).order_by(*order)[:limit]
        for arm in arms
    ]
    return list(first[0].union(first[1], all=True).order_by(*order)[:limit])


def _attach_parents(user: User, tasks: list[Task]) -> None:
    """Set `task.related` to the record the task is about, or its board, when the user may
    see it (None otherwise): one query for every kind of parent (visible_rows_each, which
    brings the columns of their names too), never one per task. A task assigned to someone
    does not reveal a record they may not open."""
    kinds = [(name, _PARENT_MODELS[name], _SHOWN[_PARENT_MODELS[name]]) for name in PARENT_FIELDS]
    kinds.append(("section", Section, _BOARD))
    wanted = [
        (model, {getattr(t, f"{name}_id") for t in tasks}, shown) for name, model, shown in kinds
    ]
    found = permissions.visible_rows_each(user, wanted)
    using = tasks[0]._state.db if tasks else None
    for task in tasks:
        task.related = None
        for (name, model, _), visible in zip(kinds, found, strict=True):
            pk = getattr(task, f"{name}_id")
            if pk:
                data = visible.get(pk)
                if data is not None:
                    related = permissions.related_row(model, pk, data, using)
                    task.related = related.board if name == "section" else related
                break


def _group_key(task: Task, now: dt.datetime) -> str:
    if task.status == Task.Status.DONE:
        return "done"
    if task.due_at is None:
        return "none"
    if task.due_at < now:
        return "overdue"
    today = timezone.localdate(now)
    due = timezone.localdate(task.due_at)
    if due == today:
        return "today"
    # "This week" runs to the end of Sunday of the current ISO week.
    if due <= today + dt.timedelta(days=6 - today.weekday()):
        return "week"
    return "later"


GROUPS = (
    ("overdue", "Overdue"),
    ("today", "Today"),
    ("week", "This week"),
    ("later", "Later"),
    ("none", "No date"),
    ("done", "Done"),
)


def my_tasks(user: User, *, show_done: bool = False) -> list[TaskGroup]:
    """`user`'s open tasks in groups Overdue / Today / This week / Later / No date, overdue
    first and then by due date; with `show_done`, also the latest done ones. Empty groups are
    dropped. At most MY_TASKS_LIMIT open tasks (a fixed number of queries)."""
    tasks = _mine(
        user, OPEN_TASK_STATUSES, (F("due_at").asc(nulls_last=True), "created_at"), MY_TASKS_LIMIT
    )
    if show_done:
        tasks += _mine(user, (Task.Status.DONE,), (F("completed_at").desc(),), DONE_LIMIT)
    _attach_parents(user, tasks)
    now = timezone.now()
    groups = {key: TaskGroup(key, title) for key, title in GROUPS}
    for task in tasks:
        # The row marks an overdue date by its group (task_row sets it the same way).
        task.group = _group_key(task, now)
        groups[task.group].tasks.append(task)
    return [group for group in groups.values() if group.tasks]


def task_row(user: User, task: Task) -> Task:
    """One task of "my tasks", re-read after a change, with its related record attached."""
    _attach_parents(user, [task])
    task.group = _group_key(task, timezone.now())
    return task


def board_list(user: User) -> list[Board]:
    """The boards `user` may see, with their number of cards, in the boards' order."""
    return list(
        Board.objects.visible_to(user)
        .select_related("owner")
        .annotate(card_count=Count("sections__tasks"))
        .order_by("position", "title")
    )


@dataclass
class Column:
    section: Section
    cards: list[Task] = field(default_factory=list)


def board_columns(user: User, board: Board) -> list[Column]:
    """A board's sections in order, each with its cards in `position` order (three queries
    whatever the number of cards: sections, cards, and nothing per card)."""
    sections = Section.objects.filter(board=board).visible_to(user).order_by("position", "title")
    columns = {section.pk: Column(section) for section in sections}
    cards = (
        Task.objects.filter(section__board=board)
        .visible_to(user)
        .select_related("assignee")
        .order_by("position", "created_at", "id")
    )
    for card in cards:
        if card.section_id in columns:
            columns[card.section_id].cards.append(card)
    return list(columns.values())


def can_edit_board(user: User, board: Board) -> bool:
    """Whether the board's controls (drag, move, add a card) are shown."""
    return permissions.can_edit(user, board)
