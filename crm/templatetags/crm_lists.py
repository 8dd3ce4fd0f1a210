"""Template helpers of the list pages: one cell per column kind, and the sort header links.

Cells are rendered here rather than by a template include per cell: a page of 100 rows and
eight columns would otherwise render 800 sub-templates.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Model
from django.template.defaultfilters import filesizeformat
from django.utils import formats, timezone
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe

from crm.lists.engine import ListPage, visible_attr
from crm.lists.spec import Column
from crm.templatetags.crm_ui import money

register = template.Library()

EMPTY = "—"
TASK_PARENTS = ("company", "contact", "lead", "deal")
# Columns whose first click sorts newest / largest first.
DESCENDING_FIRST = {"date", "datetime", "money", "size"}


def _visible(row: Model, relation: str) -> bool:
    """False when the row's `relation` points at a record the user may not see
    (crm.lists.engine.visibility_annotations): its name is not shown."""
    return getattr(row, visible_attr(relation), True) is not False


def _read(row: Model, attr: str) -> Any:
    if "." in attr and not _visible(row, attr.split(".", 1)[0]):
        return None
    value: Any = row
    for part in attr.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def _tags(row: Model) -> str:
    tags = row.__dict__.get("tags") or []  # only rows that loaded their tags
    return format_html_join("", ' <span class="tag">{}</span>', ((t,) for t in tags))


def _related_record(row: Model) -> str:
    for name in TASK_PARENTS:
        if getattr(row, f"{name}_id"):
            if not _visible(row, name):
                return EMPTY
            parent = getattr(row, name)
            return format_html('<a href="{}">{}</a>', parent.get_absolute_url(), parent)
    if row.section_id:
        if not _visible(row, "section"):
            return EMPTY
        board = row.section.board
        return format_html('<a href="{}">{}</a>', board.get_absolute_url(), board.title)
    return EMPTY


@register.simple_tag
def list_cell(row: Model, column: Column) -> str:
    """The content of one cell, escaped; links go to the record's detail page."""
    kind = column.kind
    if kind == "record":
        return _related_record(row)
    value = _read(row, column.attr) if column.attr else row
    if kind == "link":
        return format_html(
            '<a href="{}">{}</a>{}', row.get_absolute_url(), value or EMPTY, _tags(row)
        )
    if value is None or value == "":
        return EMPTY
    if kind == "badge":
        label = getattr(row, f"get_{column.attr}_display")()
        return format_html('<span class="badge {}">{}</span>', value, label)
    if kind == "money":
        return money(value, getattr(row, column.currency_attr, ""))
    if kind == "datetime":
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if kind == "date":
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if kind == "size":
        return filesizeformat(value)
    if kind == "email":
        return format_html('<a href="mailto:{}">{}</a>', value, value)
    return str(value)


_DISABLED = ' disabled title="You may not change this record"'


@register.simple_tag
def list_rows(page: ListPage, columns: list[Column], editable_ids: set[Any]) -> str:
    """Every <tr> of the page: the select box (disabled for rows the user may not change) and
    one cell per column. One tag per page rather than a template loop with a tag per cell: at
    50 rows and 7 columns the loop's node rendering and context lookups cost more than the
    cells themselves (about half of a list page's server time before this)."""
    heads = [' class="num"' if column.numeric else "" for column in columns]
    parts = []
    for row in page.rows:
        parts.append(
            f'<tr><td class="select"><input type="checkbox" name="ids" value="{row.pk}" '
            f'aria-label="Select {conditional_escape(str(row))}"'
            f"{'' if row.pk in editable_ids else _DISABLED}></td>"
        )
        for column, head in zip(columns, heads, strict=True):
            parts.append(f"<td{head}>{conditional_escape(list_cell(row, column))}</td>")
        parts.append("</tr>\n")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)


@register.simple_tag
def sort_state(column: Column, page: ListPage) -> dict[str, str]:
    """For a sortable header: `next`, the ?sort= value a click asks for, and `aria`, the
    column's aria-sort state (ascending / descending / none)."""
    current = page.order.key
    if current == column.sort:
        return {"next": f"-{column.sort}", "aria": "ascending"}
    if current == f"-{column.sort}":
        return {"next": column.sort, "aria": "descending"}
    first = f"-{column.sort}" if column.kind in DESCENDING_FIRST else column.sort
    return {"next": first, "aria": "none"}


@register.filter
def about(page: ListPage) -> str:
    """ "37" for an exact count; "about 1,200,000" for the planner's estimate, rounded to two
    significant digits because its last digits mean nothing; "more than 50" when there is no
    usable estimate (crm.pagination.MIN_SAMPLE_HITS) beyond the rows shown."""
    count = page.count
    if page.count_is_floor:
        return f"more than {formats.number_format(count, force_grouping=True)}"
    if page.count_is_estimated:
        digits = max(len(str(count)) - 2, 0)
        rounded = round(count, -digits)
        return f"about {formats.number_format(rounded, force_grouping=True)}"
    return formats.number_format(count, force_grouping=True)


@register.simple_tag(takes_context=True)
def without_param(context: template.Context, name: str) -> str:
    """This list's URL without parameter `name` and without the page position (a cursor of
    the narrower list means nothing in the wider one): the remove link of a parent filter chip."""
    request = context["request"]
    query = request.GET.copy()
    for param in (name, "after", "before"):
        query.pop(param, None)
    encoded = query.urlencode()
    return f"{request.path}?{encoded}" if encoded else request.path
