"""What the detail pages render: the record, its fields, panels and timeline, as a context.

Shared by the page views (crm/views/detail.py) and the inline-add endpoints
(crm/views/detail_add.py), which re-render the timeline card or, without htmx and after an
error, the whole page.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.selectors import record_history
from crm import permissions
from crm.entities import ENTITIES, entity_for
from crm.forms.quick import NoteForm, QuickTaskForm
from crm.models import Section, Task
from crm.selectors import detail as selectors
from crm.selectors import panels
from crm.selectors.detail import FieldRow
from crm.selectors.timeline import TIMELINE_MODELS, record_timeline
from crm.templatetags.crm_inline import definitions


def get_record_for_user(request: HttpRequest, key: str, pk: Any, **kwargs: Any) -> Model:
    """The record of entity `key` a page works on, its lookups joined: 404 when invisible,
    403 when `for_edit` / `for_delete` is asked and not allowed."""
    model = ENTITIES[key].model
    queryset = model.objects.select_related(*selectors.RELATED_LOOKUPS[key])
    return permissions.get_object_for_user_or_404(
        request, queryset, pk, kept_as=("record", key), **kwargs
    )


def parse_before(request: HttpRequest) -> Any:
    """The timeline cursor from ?before=<ISO time>; an unreadable one means "newest"."""
    raw = request.GET.get("before", "")
    try:
        moment = parse_datetime(raw) if raw else None
    except ValueError:
        return None
    # A hand-written cursor without an offset is read in the site's time zone, not compared
    # naively with aware timestamps.
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def timeline_context(
    request: HttpRequest,
    record: Model,
    *,
    can_edit: bool,
    note_form: NoteForm | None = None,
    task_form: QuickTaskForm | None = None,
) -> dict[str, Any]:
    """What the timeline card (`_timeline_card.html`) renders: the page and the two forms."""
    key = record._meta.model_name
    return {
        "record": record,
        "entity": ENTITIES[key],
        "can_edit": can_edit,
        "timeline": record_timeline(
            user=request.user, record=record, before=parse_before(request)
        ),
        "timeline_url": ENTITIES[key].url("timeline", record.pk),
        "note_form": note_form or NoteForm(auto_id=f"note-%s-{record.pk}"),
        "task_form": task_form or QuickTaskForm(user=request.user, auto_id=f"qt-%s-{record.pk}"),
    }


def _task_extras(request: HttpRequest, task: Task, rows: list[FieldRow]) -> dict[str, Any]:
    """The record a task is about (when visible) or its board section, and its comments."""
    # field_rows has already checked the parent foreign keys (permissions.can_view).
    related = next((r.value for r in rows if r.name in TIMELINE_MODELS and r.value), None)
    section = None
    if task.section_id:
        section = (
            Section.objects.filter(pk=task.section_id)
            .visible_to(request.user)
            .select_related("board")
            .first()
        )
    return {
        "related": related,
        "related_label": related._meta.verbose_name if related is not None else "",
        "section": section,
        "comments": selectors.task_comments(request.user, task),
    }


def detail_context(request: HttpRequest, record: Model, **forms: Any) -> dict[str, Any]:
    """Everything a detail page shows; `forms` carries bound forms back after an error."""
    user = request.user
    key = record._meta.model_name
    can_edit = permissions.can_edit(user, record)
    rows = selectors.field_rows(user, record)
    entity = entity_for(record)
    context: dict[str, Any] = {
        "record": record,
        "entity": entity,
        "urls": {
            "list": entity.url("list"),
            "edit": entity.url("edit", record.pk),
            "delete": entity.url("delete", record.pk),
        },
        "can_edit": can_edit,
        "can_delete": permissions.can_delete(user, record),
        "badges": selectors.header_badges(record),
        "fields": rows,
        "custom_fields": selectors.custom_field_rows(
            record, definitions(request, record.CUSTOM_FIELDS_ENTITY)
        ),
        "panels": panels.related_panels(user, record, can_add=can_edit),
    }
    if key in TIMELINE_MODELS:
        context.update(timeline_context(request, record, can_edit=can_edit, **forms))
    else:
        # Pages without a timeline still say who changed what.
        context["history"] = record_history(
            model=type(record), record_id=record.pk, limit=20, user=user
        )
    if key == "task":
        context.update(_task_extras(request, record, rows))
    if key == "lead":
        context["can_convert"] = can_edit and record.status != record.Status.CONVERTED
    return context
