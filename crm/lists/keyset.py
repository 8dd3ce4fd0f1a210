"""Keyset pagination: a page starts after (or ends before) the row a cursor names.

OFFSET reads and throws away every row before the page, so page 2,000 of a million contacts
reads 100,000 rows; a keyset page reads only its own rows through the sort's index. The
cursor carries the sort key, the boundary row's sort value and its primary key, signed so it
cannot be forged into something the page did not hand out (and validated again on decode:
a bad or stale cursor means "first page", never an error).

The order is total: (sort value, pk) in the sort's direction. A nullable sort column puts
NULLs last in both directions, and the comparisons below say so explicitly, because
`value > NULL` is never true in SQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import F, Field, Model, OrderBy, Q

SALT = "crm.lists.cursor"
SORT_VALUE = "list_sort_value"  # the annotation the cursor reads from each row


@dataclass(frozen=True)
class SortOrder:
    """The resolved sort: a field path, a direction, whether it can be NULL."""

    key: str  # "-amount": the URL value
    path: str  # "amount" / "company__name"
    descending: bool
    field: Field
    nullable: bool

    def order_by(self, *, reverse: bool = False) -> list[OrderBy]:
        descending = self.descending != reverse
        # NULLs after every value in the page direction; reversed (a "previous" page) they
        # come first, so that the reversed page read backwards is the same order.
        nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
        expression = F(self.path)
        first = (
            (expression.desc(**nulls) if descending else expression.asc(**nulls))
            if self.nullable
            else (expression.desc() if descending else expression.asc())
        )
        pk = F("pk").desc() if descending else F("pk").asc()
        return [first, pk]


def resolve(model: type[Model], key: str, path: str) -> SortOrder:
    """The SortOrder of an allow-listed sort key; nullable if any step of the path is."""
    nullable = False
    current: type[Model] = model
    field: Field | None = None
    for part in path.split("__"):
        field = current._meta.get_field(part)
        nullable = nullable or field.null
        if field.is_relation:
            current = field.related_model
    return SortOrder(
        key=key, path=path, descending=key.startswith("-"), field=field, nullable=nullable
    )


def _encode(value: Any) -> Any:
    # Full precision: DjangoJSONEncoder would cut datetimes to milliseconds, and a cursor
    # a microsecond off skips or repeats rows.
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


def encode(order: SortOrder, row: Model) -> str:
    return signing.dumps(
        {"s": order.key, "v": _encode(getattr(row, SORT_VALUE)), "k": str(row.pk)}, salt=SALT
    )


@dataclass(frozen=True)
class Cursor:
    value: Any
    pk: UUID


def decode(order: SortOrder, token: str) -> Cursor | None:
    """The cursor, or None when it is forged, malformed or made for another sort."""
    try:
        data = signing.loads(token, salt=SALT)
        if not isinstance(data, dict) or data.get("s") != order.key:
            return None
        raw = data.get("v")
        value = None if raw is None else order.field.to_python(raw)
        if raw is not None and value is None:
            return None
        return Cursor(value=value, pk=UUID(str(data["k"])))
    except (signing.BadSignature, ValidationError, ValueError, TypeError, KeyError):
        return None
    except FieldDoesNotExist:  # pragma: no cover - paths are validated when specs load
        return None


def after(order: SortOrder, cursor: Cursor, *, reverse: bool = False) -> Q:
    """Rows that come after the cursor's row in the order (before it, with `reverse`)."""
    descending = order.descending != reverse
    path, value = order.path, cursor.value
    pk_after = Q(pk__lt=cursor.pk) if descending else Q(pk__gt=cursor.pk)
    if value is None:
        # The cursor sits among the NULLs: last going forwards, first going backwards.
        if reverse:
            return Q(**{f"{path}__isnull": False}) | (Q(**{f"{path}__isnull": True}) & pk_after)
        return Q(**{f"{path}__isnull": True}) & pk_after
    beyond = Q(**{f"{path}__lt" if descending else f"{path}__gt": value})
    # The redundant bound (`<= value` going down) is what lets PostgreSQL start the index
    # scan at the cursor; the OR alone would be a filter applied to every row before it.
    bound = Q(**{f"{path}__lte" if descending else f"{path}__gte": value})
    condition = bound & (beyond | (Q(**{path: value}) & pk_after))
    if order.nullable and not reverse:
        condition |= Q(**{f"{path}__isnull": True})
    return condition
