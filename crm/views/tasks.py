"""My tasks, and project boards (board, sections, tasks in order)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from crm import permissions
from crm.models import Task
from crm.selectors.tasks import my_tasks, task_row
from crm.services.tasks import task_set_status
from crm.views import tasks_boards


@login_required
@require_GET
def task_mine(request: HttpRequest) -> HttpResponse:
    show_done = request.GET.get("done") == "1"
    groups = my_tasks(request.user, show_done=show_done)
    context = {"groups": groups, "show_done": show_done, "next_url": request.get_full_path()}
    return render(request, "crm/task_mine.html", context)


def _next_url(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


@login_required
@require_POST
def task_done(request: HttpRequest, pk: Any) -> HttpResponse:
    """Mark a task done (or, with status=open, undo that): htmx answers with the task's row in
    its new state, which carries the Undo button; a plain post redirects back."""
    task = permissions.get_object_for_user_or_404(
        request, Task.objects.select_related("assignee"), pk, for_edit=True
    )
    reopen = request.POST.get("status") == Task.Status.OPEN
    try:
        task_set_status(
            user=request.user, task=task, status=Task.Status.OPEN if reopen else Task.Status.DONE
        )
    except ValidationError as exc:
        # The task fails its own rules (a required custom field added since): say so, and
        # leave it as it was; the task's page lets the user fix it.
        task.refresh_from_db()
        messages.error(request, f"“{task.title}” was not changed: {' '.join(exc.messages)}")
    else:
        messages.success(request, f"“{task.title}” {'reopened' if reopen else 'done'}.")
    next_url = _next_url(request, reverse("crm:task.mine"))
    if request.htmx:
        # The row's own "next" stays the page it sits on, not this POST's URL.
        context = {"task": task_row(request.user, task), "oob": True, "next_url": next_url}
        return render(request, "crm/partials/_task_row.html", context)
    return redirect(next_url)


urlpatterns = [
    path("tasks/mine/", task_mine, name="task.mine"),
    path("tasks/<uuid:pk>/done/", task_done, name="task.done"),
    *tasks_boards.urlpatterns,
]
