"""Detail pages of the seven entities, and the timeline's "older" pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from crm.entities import ENTITIES
from crm.selectors.timeline import TIMELINE_MODELS
from crm.views import detail_add
from crm.views.detail_context import detail_context, get_record_for_user, timeline_context


def _detail_view(key: str) -> Callable[..., HttpResponse]:
    @login_required
    @require_GET
    def view(request: HttpRequest, pk: Any) -> HttpResponse:
        record = get_record_for_user(request, key, pk)
        return render(request, f"crm/{key}_detail.html", detail_context(request, record))

    view.__name__ = f"{key}_detail"
    return view


def _timeline_view(key: str) -> Callable[..., HttpResponse]:
    @login_required
    @require_GET
    def view(request: HttpRequest, pk: Any) -> HttpResponse:
        """An older page of the timeline (the "Older" button): just its items."""
        record = get_record_for_user(request, key, pk)
        context = timeline_context(request, record, can_edit=False)
        return render(request, "crm/partials/_timeline_items.html", context)

    view.__name__ = f"{key}_timeline"
    return view


urlpatterns = [
    *[
        path(f"{e.plural}/<uuid:pk>/", _detail_view(e.key), name=f"{e.key}.detail")
        for e in ENTITIES.values()
    ],
    *[
        path(f"{ENTITIES[k].plural}/<uuid:pk>/timeline/", _timeline_view(k), name=f"{k}.timeline")
        for k in TIMELINE_MODELS
    ],
    path("notes/on/<str:entity>/<uuid:pk>/", detail_add.note_create, name="note.create"),
    path(
        "tasks/on/<str:entity>/<uuid:pk>/", detail_add.task_quick_create, name="task.quick_create"
    ),
]
