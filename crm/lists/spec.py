"""The declarative description of one entity's list page: columns, sorts, filters, actions.

A spec is data, not behaviour: the engine (crm/lists/engine.py) reads it to parse the URL,
filter, sort and page, and the templates read it to draw the table. Everything the URL can
name (a sort key, a filter parameter) is listed here, so nothing from the URL ever reaches the
ORM or SQL unless a spec allows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Model

if TYPE_CHECKING:
    from crm.lists.filters import Filter

# Bulk actions a spec may offer (the bulk form's `action` values).
ASSIGN_OWNER = "assign_owner"
SET_STATUS = "set_status"
SET_STAGE = "set_stage"
ADD_TAG = "add_tag"
DELETE = "delete"


@dataclass(frozen=True)
class Column:
    """One table column.

    `attr` is a dotted path read on each row (`company.name`), `kind` picks the cell renderer
    (crm/templatetags/crm_lists.py), `sort` the key in ListSpec.sorts the header links to.
    """

    key: str
    label: str
    attr: str
    kind: str = "text"  # link, text, badge, money, date, datetime, tags, user, size, record
    sort: str | None = None
    # money: the attribute holding the currency code.
    currency_attr: str = ""
    numeric: bool = False


@dataclass(frozen=True)
class ListSpec:
    """Everything the list page of one entity may show and accept from the URL."""

    key: str  # crm/entities.py key: URL names crm:<key>.list, .bulk, .create
    model: type[Model]
    columns: tuple[Column, ...]
    # sort key (the `?sort=` value, without "-") -> model field path. Every key is served with
    # the primary key as tie-breaker, so the order is total and keyset pages never overlap.
    sorts: dict[str, str]
    default_sort: str  # "-updated"
    filters: tuple[Filter, ...]
    # Relations the columns read, joined in the one row query (no query per row).
    select_related: tuple[str, ...] = ()
    # Columns the rows load: the shown ones, their relations' shown fields, and the keys
    # permissions and links need. Anything else stays in the database.
    only: tuple[str, ...] = ()
    bulk_actions: tuple[str, ...] = (ASSIGN_OWNER, DELETE)
    # Statuses the bulk "change status" offers (value, label); empty = the model's choices.
    bulk_statuses: tuple[tuple[str, str], ...] = ()
    custom_fields: bool = True
