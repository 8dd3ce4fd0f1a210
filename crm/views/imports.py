"""The CSV import wizard: upload, map, check (dry run), import, undo; `/imports/...`.

One page per import (`crm:import.detail`) whose content follows the run's status; while a pass
runs, the page's progress fragment POSTs to `crm:import.advance`, which works for a moment
(STEP_SECONDS) and answers with the fragment again, so the page itself drives the import and
no worker process is needed. Closing the page pauses the import; opening it again goes on.
Writes go through crm/services/imports.py; reads through crm/selectors/imports.py.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from crm.entities import ENTITIES
from crm.exports import CONTENT_TYPE
from crm.forms.imports import ImportMappingForm, ImportUploadForm
from crm.imports.reader import DELIMITERS, ENCODINGS
from crm.models import ImportRun
from crm.selectors.imports import (
    column_samples,
    import_list,
    import_run_for_user,
    kept_rows,
    problem_rows,
    rejected_rows_csv,
    undo_progress,
)
from crm.services.imports import (
    STEP_SECONDS,
    import_advance,
    import_commit,
    import_configure,
    import_undo,
    import_upload,
)

Status = ImportRun.Status
PROGRESS = "crm/imports/partials/_progress.html"


def _detail_url(run: ImportRun) -> str:
    return reverse("crm:import.detail", args=[run.pk])


@login_required
@require_GET
def import_list_view(request: HttpRequest) -> HttpResponse:
    page = import_list(user=request.user, before=request.GET.get("before", ""))
    for run in page.runs:
        run.entity_label = ENTITIES[run.entity].label_plural
    form = ImportUploadForm(initial={"entity": request.GET.get("entity", "contact")})
    return render(request, "crm/imports/list.html", {"page": page, "form": form})


@login_required
def import_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        form = ImportUploadForm(initial={"entity": request.GET.get("entity", "contact")})
        return render(request, "crm/imports/new.html", {"form": form})
    form = ImportUploadForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            run = import_upload(
                user=request.user,
                entity=data["entity"],
                upload=data["file"],
                encoding=data["encoding"],
                delimiter=data["delimiter"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)  # on `file` or `entity`, as the service names them
        else:
            return redirect(_detail_url(run))
    return render(request, "crm/imports/new.html", {"form": form})


@login_required
def import_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    run = import_run_for_user(user=request.user, pk=pk)
    form = None
    if request.method == "POST":
        form = _mapping_form(run, request.POST)
        if form.is_valid():
            try:
                import_configure(user=request.user, run=run, options=form.configure_options())
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    form.add_service_error(exc)  # on the fields it names
                else:
                    # About the run, not a field: it has started, or its columns changed
                    # under another encoding or delimiter (the page shows the new ones).
                    messages.error(request, " ".join(exc.messages))
                    return redirect(_detail_url(run))
            else:
                return redirect(_detail_url(run))
    context = _detail_context(request, run, form)
    return render(request, "crm/imports/detail.html", context)


def _mapping_form(run: ImportRun, data: Any = None) -> ImportMappingForm:
    samples, problem = column_samples(run)
    return ImportMappingForm(data, run=run, samples=samples, reading_problem=problem)


def _detail_context(request: HttpRequest, run: ImportRun, form: Any) -> dict[str, Any]:
    user = request.user
    is_author = run.created_by_id == user.pk
    context: dict[str, Any] = {
        "run": run,
        "entity": ENTITIES[run.entity],
        "is_author": is_author,
        "can_undo": run.status == Status.DONE and (is_author or user.is_admin),
        "commit_blocked": run.on_error == ImportRun.OnError.ALL_OR_NOTHING and run.failed > 0,
        "preview": _preview(run),
        "encoding_label": ENCODINGS.get(run.encoding, run.encoding),
        "delimiter_label": DELIMITERS.get(run.delimiter, run.delimiter),
    }
    if is_author and run.status in (Status.UPLOADED, Status.CHECKED):
        context["form"] = form if form is not None else _mapping_form(run)
    if run.running:
        context.update(_progress(request, run))
    if run.status in (Status.CHECKED, Status.DONE, Status.FAILED) and (run.failed or run.skipped):
        after = request.GET.get("after", "")
        context["problems"] = problem_rows(run=run, after=int(after) if after.isdigit() else 0)
    if run.status == Status.UNDONE and run.undo_kept:
        context["kept"] = kept_rows(run=run, after=request.GET.get("kept_after", ""))
    return context


def _preview(run: ImportRun) -> dict[str, Any]:
    """The dry run's first rows as a table: the mapped columns, then one list per row."""
    if not run.preview:
        return {}
    headers = list(run.preview[0]["values"])
    actions = {"create": "created", "update": "updated"}
    rows = [
        {
            "row": item["row"],
            "action": actions.get(item["action"], item["action"]),
            "cells": [item["values"].get(h, "") for h in headers],
        }
        for item in run.preview
    ]
    return {"headers": headers, "rows": rows}


def _progress(request: HttpRequest, run: ImportRun, *, watching: bool = False) -> dict[str, Any]:
    undo_done = undo_total = 0
    if run.status == Status.UNDOING:
        done, total = undo_done, undo_total = undo_progress(run)
    else:
        done, total = run.position - run.data_start, run.file_size - run.data_start
    percent = min(100, max(0, done) * 100 // max(total, 1))
    # Someone who may not drive this pass (an admin looking at another user's import) polls
    # more slowly and only watches: the author's page is what moves it on.
    may_drive = run.created_by_id == request.user.pk or run.status == Status.UNDOING
    return {
        "run": run,
        "percent": percent,
        "undo_done": undo_done,
        "undo_total": undo_total,
        "watching": watching or not may_drive,
    }


@login_required
@require_POST
def import_advance_view(request: HttpRequest, pk: Any) -> HttpResponse:
    run = import_run_for_user(user=request.user, pk=pk)
    watching = False
    if run.running:
        try:
            run = import_advance(user=request.user, run=run, seconds=STEP_SECONDS)
        except PermissionDenied:
            watching = True
    if not request.htmx:
        return redirect(_detail_url(run))  # the <noscript> button of the progress fragment
    if not run.running:
        return HttpResponseClientRefresh()  # the page shows the new status
    context = _progress(request, run, watching=watching)
    return render(request, PROGRESS, context)


def _start(request: HttpRequest, pk: Any, service: Any) -> HttpResponse:
    """Start a pass (the import, or its undo) and go back to the page, which runs it; a
    refusal (a dirty check in all-or-nothing mode, an undo twice) is a message there."""
    run = import_run_for_user(user=request.user, pk=pk)
    try:
        service(user=request.user, run=run)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(_detail_url(run))


@login_required
@require_POST
def import_commit_view(request: HttpRequest, pk: Any) -> HttpResponse:
    return _start(request, pk, import_commit)


@login_required
@require_POST
def import_undo_view(request: HttpRequest, pk: Any) -> HttpResponse:
    return _start(request, pk, import_undo)


@login_required
@require_GET
def import_rejected(request: HttpRequest, pk: Any) -> HttpResponse:
    run = import_run_for_user(user=request.user, pk=pk)
    name = f"{PurePath(run.file_name).stem or 'import'}-rejected.csv"
    response = StreamingHttpResponse(rejected_rows_csv(run), content_type=CONTENT_TYPE)
    response.headers["Content-Disposition"] = content_disposition_header(True, name)
    # Customer data: no shared cache keeps a copy.
    response.headers["Cache-Control"] = "private, no-store"
    return response


urlpatterns = [
    path("imports/", import_list_view, name="import.list"),
    path("imports/new/", import_new, name="import.new"),
    path("imports/<uuid:pk>/", import_detail, name="import.detail"),
    path("imports/<uuid:pk>/advance/", import_advance_view, name="import.advance"),
    path("imports/<uuid:pk>/commit/", import_commit_view, name="import.commit"),
    path("imports/<uuid:pk>/undo/", import_undo_view, name="import.undo"),
    path("imports/<uuid:pk>/rejected.csv", import_rejected, name="import.rejected"),
]
