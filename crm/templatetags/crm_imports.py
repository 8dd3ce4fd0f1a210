"""Template helpers of the CSV import: the "Import CSV" link of the entities that have one."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.html import format_html

from crm.imports.fields import IMPORTABLE

register = template.Library()


@register.simple_tag
def import_csv_link(entity: str) -> str:
    """An "Import CSV" button for a list of an importable entity (companies, contacts, leads,
    deals); nothing for the others."""
    if entity not in IMPORTABLE:
        return ""
    url = f"{reverse('crm:import.new')}?{urlencode({'entity': entity})}"
    return format_html('<a class="button secondary" href="{}">Import CSV</a>', url)
