"""`{% inline_field record "field" %}`: one field of a detail page, editable in place (htmx).

Placeholder until the inline-edit endpoint lands: renders the value only."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Model

register = template.Library()


@register.simple_tag(takes_context=True)
def inline_field(context: Any, record: Model, field: str) -> Any:
    value = getattr(record, f"get_{field}_display", None)
    return value() if callable(value) else getattr(record, field)
