"""`{% inline_field record "field" %}`: one field of a detail page, editable in place (htmx).

Renders the display fragment (`render_display`, written with format_html): the value as people
read it (choice labels, a link for a record with a page, formatted dates, "—" when empty) and,
when the user may change the record and the field is inline-editable, an Edit button that
swaps in the field's form from `crm:<entity>.field`. The inline-edit view renders the same
fragment after a save, through `render_display`.

No query per field: "may edit" comes from the template context (`can_edit`) or is computed
once per record and kept on it; custom field definitions are fetched once per request; the
field URLs come from one reverse() per record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.db import models
from django.db.models import Model
from django.utils import formats, timezone
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from crm import permissions
from crm.custom_fields import definitions_for
from crm.forms.custom_fields import CUSTOM_FIELD_PREFIX
from crm.models import CustomFieldDefinition
from crm.record_urls import record_url

register = template.Library()

EMPTY = mark_safe('<span class="muted">—</span>')
FieldType = CustomFieldDefinition.FieldType
_CAN_EDIT_ATTR = "_crm_inline_can_edit"
_DEFINITIONS_ATTR = "_crm_inline_definitions"


def definitions(holder: Any, entity: str) -> dict[str, CustomFieldDefinition]:
    """The entity's custom field definitions, cached on `holder` (the request, or the record
    when there is none)."""
    cache = holder.__dict__.setdefault(_DEFINITIONS_ATTR, {})
    if entity not in cache:
        cache[entity] = definitions_for(entity)
    return cache[entity]


def user_can_edit(user: Any, record: Model) -> bool:
    """permissions.can_edit, once per record instance and user."""
    cache = record.__dict__.setdefault(_CAN_EDIT_ATTR, {})
    key = getattr(user, "pk", None)
    if key not in cache:
        cache[key] = permissions.can_edit(user, record)
    return cache[key]


def field_url(record: Model, name: str) -> str:
    """`crm:<entity>.field` of one field (a page shows 30 fields; a full reverse() was half
    the cost of each)."""
    return record_url(f"crm:{record._meta.model_name}.field", record.pk, name)


def _link(url: str, text: Any) -> SafeString:
    if not str(url).lower().startswith(("http://", "https://")):
        return format_html("{}", text)
    return format_html('<a href="{}" rel="noopener noreferrer nofollow">{}</a>', url, text)


def _date(value: dt.date) -> str:
    if isinstance(value, dt.datetime):
        return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
    return formats.date_format(value, "DATE_FORMAT")


def _tags(values: list[Any]) -> SafeString:
    return format_html_join(" ", '<span class="tag">{}</span>', ((v,) for v in values))


def _custom_value(definition: CustomFieldDefinition | None, value: Any) -> Any:
    kind = definition.field_type if definition else None
    if kind == FieldType.BOOLEAN:
        return "Yes" if value else "No"
    if kind == FieldType.MULTI_CHOICE and isinstance(value, list):
        return ", ".join(map(str, value))
    if kind == FieldType.DATE:
        try:
            return _date(dt.date.fromisoformat(str(value)))
        except ValueError:
            return value
    if kind == FieldType.URL:
        return _link(value, value)
    if kind == FieldType.EMAIL:
        return format_html('<a href="mailto:{}">{}</a>', value, value)
    return value


def _model_value(record: Model, field: models.Field) -> Any:
    value = getattr(record, field.name)
    if value in (None, "", []):
        return None
    if field.choices:
        return getattr(record, f"get_{field.name}_display")()
    if field.many_to_one:
        url = getattr(value, "get_absolute_url", None)
        return format_html('<a href="{}">{}</a>', url(), value) if callable(url) else value
    if isinstance(field, models.BooleanField):
        return "Yes" if value else "No"
    if isinstance(value, dt.date):
        return _date(value)
    if isinstance(field, models.URLField):
        return _link(value, value)
    if isinstance(field, models.EmailField):
        return format_html('<a href="mailto:{}">{}</a>', value, value)
    if isinstance(value, list):
        return _tags(value)
    if isinstance(field, models.DecimalField):
        return formats.number_format(value, decimal_pos=field.decimal_places, use_l10n=True)
    return value


def display(record: Model, name: str, holder: Any) -> tuple[Any, str, bool]:
    """(value to show, label, whether the field exists as something editable)."""
    if name.startswith(CUSTOM_FIELD_PREFIX):
        key = name[len(CUSTOM_FIELD_PREFIX) :]
        definition = definitions(holder, record.CUSTOM_FIELDS_ENTITY).get(key)
        value = (getattr(record, "custom_fields", None) or {}).get(key)
        label = definition.label if definition else key
        shown = None if value in (None, "", []) else _custom_value(definition, value)
        return shown, label, definition is not None
    try:
        field = record._meta.get_field(name)
    except Exception:
        return getattr(record, name, None), name.replace("_", " "), False
    return _model_value(record, field), str(field.verbose_name), True


def render_display(record: Model, name: str, *, can_edit: bool, holder: Any) -> str:
    """The display fragment of one field (shared by the tag and the inline-edit view)."""
    from crm.views.records_pages import PAGES  # the views import this module

    key = record._meta.model_name
    value, label, exists = display(record, name, holder)
    pages = PAGES.get(key)
    editable = (
        can_edit
        and exists
        and pages is not None
        and (name in pages.inline or name.startswith(CUSTOM_FIELD_PREFIX))
    )
    # Written here rather than by a template: render_to_string for each of a detail page's
    # ~26 fields (template lookup, context, render) was ~5 ms of the company page.
    shown = EMPTY if value in (None, "") else localize(value)  # as {{ value }} would
    button = format_html(_EDIT_BUTTON, field_url(record, name), label) if editable else ""
    return format_html(_DISPLAY, f"field-{key}-{record.pk}-{name}", shown, button)


# One field as read; with an Edit button that swaps in its form (crm:<entity>.field) when the
# user may change it. Every value goes through format_html, so it is escaped unless safe.
_DISPLAY = (
    '<span class="inline-field" id="{}">\n  <span class="inline-value">{}</span>\n  {}\n</span>'
)
_EDIT_BUTTON = (
    '<button type="button" class="inline-edit small secondary" hx-get="{}"'
    ' hx-target="closest .inline-field" hx-swap="outerHTML" aria-label="Edit {}">Edit</button>'
)


@register.simple_tag(takes_context=True)
def inline_field(context: Any, record: Model, field: str) -> str:
    request = context.get("request")
    user = context.get("user") or getattr(request, "user", None)
    can_edit = context.get("can_edit")
    if can_edit is None:
        can_edit = user_can_edit(user, record)
    holder = request if request is not None else record
    return mark_safe(  # noqa: S308 - rendered by a template that escapes
        render_display(record, field, can_edit=bool(can_edit), holder=holder)
    )
