"""Tasks: status changes, quick creation on a record or a board, and board ordering."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from crm import permissions
from crm.models import Company, Contact, Deal, Lead, Section, Task

TaskParent = Company | Contact | Lead | Deal


@transaction.atomic
def task_set_status(*, user: User, task: Task, status: str) -> Task:
    """Set a task's status as `user` (mark done inline, bulk "change status", edit).

    `completed_at` follows the status: stamped when the task becomes done, cleared when it is
    reopened (the task_completed_only_when_done constraint). Raises PermissionDenied when
    `user` may not change the task.
    """
    if not permissions.can_edit(user, task):
        raise PermissionDenied("You may not change this task.")
    if task.status == status:
        return task
    task.status = status
    task.completed_at = timezone.now() if status == Task.Status.DONE else None
    task.full_clean()
    task.save(update_fields=["status", "completed_at", "updated_at"])
    return task


@transaction.atomic
def task_create_for_record(
    *,
    user: User,
    parent: TaskParent,
    title: str,
    due_at: dt.datetime | None = None,
    assignee: User | None = None,
    priority: str = Task.Priority.MEDIUM,
) -> Task:
    """Create a task about `parent` (company, contact, lead or deal), owned by `user`.

    Adding a task to a record changes the record, so `user` needs change permission on it
    (PermissionDenied otherwise). The assignee defaults to `user`; a blank title is a
    ValidationError on `title`. The task is visible to whoever sees the record.
    """
    if not permissions.can_edit(user, parent):
        raise PermissionDenied("You may not add tasks to this record.")
    task = Task(
        owner=user,
        assignee=assignee or user,
        title=(title or "").strip(),
        due_at=due_at,
        priority=priority,
        **{parent._meta.model_name: parent},
    )
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def task_create_in_section(*, user: User, section: Section, title: str) -> Task:
    """Add a card at the end of a board section, owned by `user`.

    Needs change permission on the section's board (collaborators included); PermissionDenied
    otherwise. A blank title is a ValidationError on `title`.
    """
    if not permissions.can_edit(user, section.board):
        raise PermissionDenied("You may not add cards to this board.")
    # Lock the section's cards so two quick adds do not take the same position.
    last = (
        Task.objects.select_for_update()
        .filter(section=section)
        .order_by()
        .aggregate(last=Max("position"))["last"]
    )
    task = Task(
        owner=user,
        title=(title or "").strip(),
        section=section,
        position=0 if last is None else last + 1,
    )
    task.full_clean()
    task.save()
    return task


def _ordered_cards(section: Section, *, exclude: Task) -> list[Task]:
    # Locked in a stable order so concurrent moves on one board serialise instead of
    # interleaving their renumbering.
    return list(
        Task.objects.select_for_update()
        .filter(section=section)
        .exclude(pk=exclude.pk)
        .order_by("position", "created_at", "id")
    )


def _renumber(cards: list[Task]) -> list[Task]:
    changed = []
    for position, card in enumerate(cards):
        if card.position != position:
            card.position = position
            changed.append(card)
    return changed


@transaction.atomic
def task_move(*, user: User, task: Task, section: Section, index: int) -> Task:
    """Move a board card to position `index` (0-based) of `section`, as `user`.

    The card and the target section must be on the same board (a ValidationError otherwise:
    a card never jumps boards by drag and drop), and `user` must be allowed to change that
    board (PermissionDenied). `index` is clamped to the section's length. Positions of the
    target section, and of the source section when the card leaves it, are renumbered 0..n-1
    in one transaction, so the order has no gaps or duplicates after any sequence of moves.
    """
    board = section.board
    if task.section_id is None:
        raise ValidationError({"task": "This task is not on a board."})
    source = Section.objects.get(pk=task.section_id)
    if source.board_id != board.pk:
        raise ValidationError({"section": "This section belongs to another board."})
    if not permissions.can_edit(user, board):
        raise PermissionDenied("You may not change this board.")
    target_cards = _ordered_cards(section, exclude=task)
    index = max(0, min(int(index), len(target_cards)))
    target_cards.insert(index, task)
    changed = _renumber(target_cards)
    if source.pk != section.pk:
        changed += _renumber(_ordered_cards(source, exclude=task))
    task.section = section
    # The moved card changes section as well as position; the others only their position.
    others = [card for card in changed if card.pk != task.pk]
    if others:
        Task.objects.bulk_update(others, ["position"])
    task.save(update_fields=["section", "position", "updated_at"])
    return task
