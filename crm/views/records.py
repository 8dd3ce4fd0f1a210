"""Create, edit and delete pages for every entity, and inline edit of one field.

One set of thin views serves the seven entities (crm/views/records_pages.py says what differs);
the URL names and paths are the agreed contract (`crm:<key>.create` ...). Writes go through
crm/services/records.py; objects load through crm.permissions (404 when invisible, 403 when
read-only).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from crm import permissions
from crm.entities import ENTITIES, Entity
from crm.forms.records import RecordForm
from crm.views import documents, records_inline
from crm.views.records_pages import PAGES, RecordPages


def _prefill(request: HttpRequest, pages: RecordPages) -> tuple[dict[str, Any], dict[str, list]]:
    """Initial values and links from the query string (`?company=<pk>`): each record must be
    visible to the user (404 otherwise), and changeable where the new record is a change to
    it (403 otherwise)."""
    initial: dict[str, Any] = {}
    links: dict[str, list[Model]] = {}
    for param, (model, action) in pages.prefill.items():
        if request.GET.get(param):
            record = permissions.get_object_for_user_or_404(
                request, model, request.GET[param], for_edit=action == "edit"
            )
            initial[pages.prefill_fields.get(param, param)] = record.pk
    for param, m2m in pages.links.items():
        if request.GET.get(param):
            record = permissions.get_object_for_user_or_404(
                request, ENTITIES[param].model, request.GET[param], for_edit=True
            )
            links[m2m] = [record]
    return initial, links


def _save(form: RecordForm, write: Any, **kwargs: Any) -> Model | None:
    """Run the service on a valid form; its ValidationError becomes form errors (never a 500)."""
    if not form.is_valid():
        return None
    try:
        return write(data=form.record_data(), **kwargs)
    except ValidationError as exc:
        form.add_error(None, exc)
        return None


def _form_page(
    request: HttpRequest, entity: Entity, form: RecordForm, **extra: Any
) -> HttpResponse:
    return render(
        request,
        "crm/record_form.html",
        {
            "entity": entity,
            "form": form,
            "wide": form.wide,
            "list_url": entity.url("list"),
            **extra,
        },
    )


@login_required
def record_create(request: HttpRequest, entity: str) -> HttpResponse:
    pages, ent = PAGES[entity], ENTITIES[entity]
    initial, links = _prefill(request, pages)
    bound = request.method == "POST"
    form = pages.form(
        request.POST if bound else None,
        request.FILES if bound else None,
        user=request.user,
        initial=initial,
    )
    if bound:
        extra = {"links": links} if pages.links else {}
        record = _save(form, pages.create, user=request.user, **extra)
        if record is not None:
            messages.success(request, f"{ent.label.capitalize()} “{record}” created.")
            return redirect(record.get_absolute_url())
    linked = [record for records in links.values() for record in records]
    return _form_page(
        request, ent, form, title=f"New {ent.label}", linked=linked, cancel_url=ent.url("list")
    )


@login_required
def record_edit(request: HttpRequest, entity: str, pk: Any) -> HttpResponse:
    pages, ent = PAGES[entity], ENTITIES[entity]
    record = permissions.get_object_for_user_or_404(request, ent.model, pk, for_edit=True)
    bound = request.method == "POST"
    form = pages.form(
        request.POST if bound else None,
        request.FILES if bound else None,
        instance=record,
        user=request.user,
    )
    if bound:
        saved = _save(form, pages.update, user=request.user, **{entity: record})
        if saved is not None:
            messages.success(request, f"{ent.label.capitalize()} “{saved}” saved.")
            return redirect(saved.get_absolute_url())
    return _form_page(
        request,
        ent,
        form,
        title=f"Edit {ent.label}",
        record=record,
        cancel_url=record.get_absolute_url(),
    )


@login_required
def record_delete(request: HttpRequest, entity: str, pk: Any) -> HttpResponse:
    pages, ent = PAGES[entity], ENTITIES[entity]
    record = permissions.get_object_for_user_or_404(request, ent.model, pk, for_delete=True)
    if request.method == "POST":
        name = str(record)
        pages.delete(user=request.user, **{entity: record})
        messages.success(request, f"{ent.label.capitalize()} “{name}” deleted.")
        return redirect(ent.url("list"))
    return render(
        request,
        "crm/record_confirm_delete.html",
        {"entity": ent, "record": record, "deletes_with": pages.deletes_with},
    )


def _routes(key: str) -> list[Any]:
    plural = ENTITIES[key].plural
    kwargs = {"entity": key}
    return [
        path(f"{plural}/new/", record_create, kwargs, name=f"{key}.create"),
        path(f"{plural}/<uuid:pk>/edit/", record_edit, kwargs, name=f"{key}.edit"),
        path(f"{plural}/<uuid:pk>/delete/", record_delete, kwargs, name=f"{key}.delete"),
        path(
            f"{plural}/<uuid:pk>/field/<str:field>/",
            records_inline.record_field,
            kwargs,
            name=f"{key}.field",
        ),
    ]


urlpatterns = [
    *(route for key in PAGES for route in _routes(key)),
    path("documents/<uuid:pk>/file/", documents.document_download, name="document.download"),
]
