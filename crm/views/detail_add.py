"""Inline add of a note or a task from a record's timeline (htmx, or a plain form post)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from crm.forms.quick import NoteForm, QuickTaskForm
from crm.selectors.timeline import TIMELINE_MODELS
from crm.services.notes import note_create as note_create_service
from crm.services.tasks import task_create_for_record
from crm.views.detail_context import detail_context, get_record_for_user, timeline_context


def _parent_for_edit(request: HttpRequest, entity: str, pk: Any) -> Any:
    # Adding a note or a task changes the record: 404 when invisible, 403 when read-only.
    if entity not in TIMELINE_MODELS:
        raise Http404("Notes and tasks hang off companies, contacts, leads and deals.")
    return get_record_for_user(request, entity, pk, for_edit=True)


def _respond(request: HttpRequest, parent: Any, *, ok: bool, **forms: Any) -> HttpResponse:
    """htmx: the timeline card again (fresh forms on success, the bound form with its errors
    otherwise) plus the messages out of band. Plain post: redirect back, or the page with the
    errors (400)."""
    if request.htmx:
        context = timeline_context(request, parent, can_edit=True, **({} if ok else forms))
        return render(request, "crm/partials/_timeline_card.html", {**context, "oob": True})
    if ok:
        return redirect(f"{parent.get_absolute_url()}#timeline")
    context = detail_context(request, parent, **forms)
    return render(request, f"crm/{parent._meta.model_name}_detail.html", context, status=400)


@login_required
@require_POST
def note_create(request: HttpRequest, entity: str, pk: Any) -> HttpResponse:
    parent = _parent_for_edit(request, entity, pk)
    form = NoteForm(request.POST, auto_id=f"note-%s-{parent.pk}")
    if form.is_valid():
        try:
            note_create_service(user=request.user, parent=parent, body=form.cleaned_data["body"])
        except ValidationError as error:
            form.add_error(None, error)  # FormErrorsMixin: never a 500
        else:
            messages.success(request, "Note added.")
            return _respond(request, parent, ok=True)
    return _respond(request, parent, ok=False, note_form=form)


@login_required
@require_POST
def task_quick_create(request: HttpRequest, entity: str, pk: Any) -> HttpResponse:
    parent = _parent_for_edit(request, entity, pk)
    form = QuickTaskForm(request.POST, user=request.user, auto_id=f"qt-%s-{parent.pk}")
    if form.is_valid():
        try:
            task = task_create_for_record(
                user=request.user,
                parent=parent,
                title=form.cleaned_data["title"],
                due_at=form.due_at(),
                assignee=form.cleaned_data["assignee"],
            )
        except ValidationError as error:
            form.add_error(None, error)  # FormErrorsMixin: never a 500
        else:
            messages.success(request, f"Task “{task.title}” added.")
            return _respond(request, parent, ok=True)
    return _respond(request, parent, ok=False, task_form=form)
