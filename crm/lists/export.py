"""The columns of a list's CSV export (crm/exports.py streams them) and how cells are written.

Each ExportColumn names the `values_list()` paths it reads and a function that writes those
values as one cell, so a batch is read as plain tuples, not model instances. The columns are
an ID, the spec's columns (a money column followed by its currency), the tags the name cell
shows on the page, then one per custom field definition of the entity.

Cells, as docs/workspace.md ("Export") documents them: dates and times ISO 8601 in the site's
time zone; amounts, sizes and numbers plain (a point for decimals, no grouping); fixed choices
by their labels, as the list shows them; tags and multiple choices joined with ", "; yes/no
as "Yes"/"No"; a related record the user may not see left blank. Every cell holding text is
neutralised against formula injection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any

from django.utils import timezone

from crm.lists.engine import RECORD_RELATIONS, governed_relations, visible_attr
from crm.lists.spec import Column, ListSpec
from crm.models import CustomFieldDefinition

# OWASP "CSV injection": a spreadsheet runs a cell starting with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Excel reads a CSV without a byte order mark in the machine's ANSI code page (Windows-1252
# in western Europe), turning "Müller" into "MÃ¼ller"; with the mark it reads UTF-8.
BOM = "\ufeff"
# The fields a record's name is made of, as its __str__ makes it (first and last name for
# people): the export reads them, not model instances.
NAME_FIELDS: dict[str, tuple[str, ...]] = {
    "company": ("name",),
    "contact": ("first_name", "last_name"),
    "lead": ("first_name", "last_name"),
    "deal": ("name",),
    "section": ("board__title",),  # a task on a board is about the board
}

FieldType = CustomFieldDefinition.FieldType
Write = Callable[..., str]


@dataclass(frozen=True)
class ExportColumn:
    """One CSV column: its header, the values_list() paths it reads, and `write`, called with
    those values in that order."""

    header: str
    paths: tuple[str, ...]
    write: Write

    def bind(self, row_paths: list[str]) -> Callable[[tuple], str]:
        """The cell function of a row tuple whose values follow `row_paths`."""
        write = self.write
        if len(self.paths) == 1:
            get = itemgetter(row_paths.index(self.paths[0]))
            return lambda row: write(get(row))
        get = itemgetter(*(row_paths.index(p) for p in self.paths))
        return lambda row: write(*get(row))


def neutralise(text: str) -> str:
    """`text` as a cell no spreadsheet runs as a formula: prefixed with a single quote when it
    starts with = + - @, a tab or a carriage return (OWASP)."""
    return f"'{text}" if text.startswith(FORMULA_START) else text


def text(value: Any) -> str:
    return "" if value is None else neutralise(str(value))


def number(value: Any) -> str:
    # Numbers the database typed are written as they are: "-5" is a number, not a formula.
    if value is None:
        return ""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def when_in(tz: dt.tzinfo) -> Write:
    """Datetimes in `tz` (the request's time zone, looked up once, not once per cell)."""
    return lambda value: "" if value is None else value.astimezone(tz).isoformat("T", "seconds")


def day(value: dt.date | None) -> str:
    return "" if value is None else value.isoformat()


def _name(*parts: Any) -> str:
    return text(" ".join(str(p) if p else "" for p in parts).strip() or None)


def _if_visible(write: Write) -> Write:
    """`write` for values behind a relation, blank when the user may not see its record."""
    return lambda visible, *values: write(*values) if visible else ""


def visible_flags(columns: Iterable[ExportColumn]) -> list[str]:
    """The visibility annotations the columns read (crm.lists.engine.visible_attr)."""
    prefix = visible_attr("")
    return list(dict.fromkeys(p for c in columns for p in c.paths if p.startswith(prefix)))


def _about() -> ExportColumn:
    """A task's "About": the first parent it has (company, contact, lead, deal, board)."""
    groups = [(r, NAME_FIELDS[r]) for r in RECORD_RELATIONS]
    paths: list[str] = []
    for relation, names in groups:
        paths += [f"{relation}_id", visible_attr(relation), *(f"{relation}__{n}" for n in names)]

    def write(*values: Any) -> str:
        at = 0
        for _, names in groups:
            if values[at] is not None:
                return _name(*values[at + 2 : at + 2 + len(names)]) if values[at + 1] else ""
            at += 2 + len(names)
        return ""

    return ExportColumn("About", tuple(paths), write)


def _column(spec: ListSpec, column: Column, governed: set[str]) -> ExportColumn:
    kind, attr, header = column.kind, column.attr, column.label
    if kind == "record":
        return _about()
    if not attr:  # the record itself: a contact's or lead's name
        return ExportColumn(header, NAME_FIELDS[spec.key], _name)
    if kind == "user":  # User.__str__: the name, else the email
        return ExportColumn(
            header, (f"{attr}__name", f"{attr}__email"), lambda n, e: text(n or e or None)
        )
    path = attr.replace(".", "__")
    if kind == "badge":
        labels = dict(spec.model._meta.get_field(path).flatchoices)
        write: Write = lambda v: text(labels.get(v, v) if v else None)  # noqa: E731
    elif kind in ("money", "size"):
        header = f"{header} (bytes)" if kind == "size" else header
        write = number
    elif kind == "datetime":
        write = when_in(timezone.get_current_timezone())
    elif kind == "date":
        write = day
    else:
        write = text
    relation = attr.split(".", 1)[0] if "." in attr else ""
    if relation in governed:
        return ExportColumn(header, (visible_attr(relation), path), _if_visible(write))
    return ExportColumn(header, (path,), write)


def list_columns(spec: ListSpec) -> list[ExportColumn]:
    """The list's columns, with an ID first (the one key that names a row for sure, e.g. to
    update it from the spreadsheet), the currency after each amount and the tags the name
    cell shows on the page."""
    governed = {f.name for f in governed_relations(spec)}
    columns = [ExportColumn("ID", ("pk",), str)]
    for column in spec.columns:
        columns.append(_column(spec, column, governed))
        if column.kind == "money":
            columns.append(ExportColumn("Currency", (column.currency_attr,), text))
    if "tags" in spec.only:
        columns.append(ExportColumn("Tags", ("tags",), lambda t: text(", ".join(t or []) or None)))
    return columns


def custom_value(definition: CustomFieldDefinition, value: Any) -> str:
    """One stored custom field value as a cell. A value written around the app's validation
    (psql, an old import) is written as text, neutralised, rather than refused."""
    kind = definition.field_type
    if value is None or value == "" or value == []:
        return ""
    if kind == FieldType.NUMBER and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if kind == FieldType.DECIMAL and isinstance(value, str | int | float):
        try:
            decimal = Decimal(str(value))
        except InvalidOperation:
            decimal = None
        if decimal is not None and decimal.is_finite():
            return format(decimal, "f")
    if kind == FieldType.DATE and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    if kind == FieldType.BOOLEAN and isinstance(value, bool):
        return "Yes" if value else "No"
    if kind == FieldType.MULTI_CHOICE and isinstance(value, list):
        return text(", ".join(map(str, value)))
    return text(value)


def custom_columns(
    definitions: list[CustomFieldDefinition], taken: set[str]
) -> list[ExportColumn]:
    """One column per definition, headed by its label ("<label> (custom field)" if a list
    column has that name already), all reading the one custom_fields value."""
    columns = []
    for d in definitions:
        header = d.label if d.label not in taken else f"{d.label} (custom field)"

        def write(values: Any, d: CustomFieldDefinition = d) -> str:
            return custom_value(d, values.get(d.key) if isinstance(values, dict) else None)

        columns.append(ExportColumn(header, ("custom_fields",), write))
    return columns
