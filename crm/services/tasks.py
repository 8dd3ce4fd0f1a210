"""Tasks: status changes and the rules that come with them."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from crm import permissions
from crm.models import Task


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
