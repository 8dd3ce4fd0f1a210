"""`field__any=[...]`: `column = ANY(%s)` with the whole list as one array parameter.

Why not `__in`: Django writes `IN (%s, %s, ...)`, one placeholder per value, and with
psycopg's client-side binding every placeholder is found, adapted and quoted in Python. The
visibility layer sends the ids a user watches with every governed query: a manager's board
(seven card columns, each with its visibility filter and its company-name check) carried
2,568 parameters, and splitting and quoting them cost 12 ms of Python per view at 1M rows.
As one array they are one parameter. PostgreSQL plans `= ANY(array)` exactly as the `IN` list,
which it turns into the same ScalarArrayOp, so the index use is unchanged. Pass the values as a
frozenset: Django walks a list or tuple given to any lookup element by element (looking for
expressions inside), which for the board was another 2,000 calls a view; a set it leaves alone.
A KeySet (the ids a user watches, read once a request) brings its literal along.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from typing import Any

from django.db.models import ForeignObject, IntegerField, Lookup, UUIDField

# Column types whose values print as array elements needing no quotes or escapes.
_LITERAL_TYPES = {"uuid", "integer", "bigint", "smallint"}


class KeySet:
    """Primary keys (UUIDs) with their array literal, `{k1,k2,...}`, made by the caller from
    the keys' text as the database gave it: `field__any=KeySet(...)` sends that literal as is.

    Why: the ids a user watches (crm.permissions.viewer) go into most queries of a request and
    into the key the kept rules are found by. As a frozenset of UUIDs, every use hashed and
    compared each of them in Python (uuid.UUID's __hash__ and __eq__): 7,000 such calls a task
    list for a rep watching 850 records, to find their literal in the cache below and the rule
    kept for them. A KeySet hashes nothing: its literal is a string, built in C from the keys'
    text in the database's order, and the kept rules are found by that. It iterates, sizes
    and answers `in` like a set (a set of its keys is made for `in`, the first time)."""

    __slots__ = ("_set", "keys", "literal")

    def __init__(self, keys: list[uuid.UUID], texts: list[str]) -> None:
        self.keys = tuple(keys)
        self.literal = "{" + ",".join(texts) + "}"
        self._set: frozenset | None = None

    def __iter__(self) -> Iterator[uuid.UUID]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: object) -> bool:
        if self._set is None:
            self._set = frozenset(self.keys)
        return key in self._set

    def __repr__(self) -> str:
        return f"KeySet({self.literal})"


# The same watched ids go into several queries of a request (each visibility filter, the
# select list and the WHERE of a fenced search): their literal is made once. Bounded, since
# each entry holds its ids.
@functools.lru_cache(maxsize=64)
def _array_literal(db_type: str, values: frozenset) -> str:
    if db_type == "uuid":
        items = (str(v if isinstance(v, uuid.UUID) else uuid.UUID(str(v))) for v in values)
    else:
        items = (str(int(v)) for v in values)
    return "{" + ",".join(items) + "}"


def _db_type(field: Any, connection: Any) -> str | None:
    db_type = field.target_field.db_type(connection) if field.is_relation else None
    return db_type or field.db_type(connection)


# Registered on keys and integers only (a JSON field's `__any` stays a key lookup); foreign
# keys keep lookups of their own, so it is registered on them too (owner_id__any).
@ForeignObject.register_lookup
@UUIDField.register_lookup
@IntegerField.register_lookup
class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False  # a list of values, each prepared below, not one value

    def get_db_prep_lookup(self, value: Any, connection: Any) -> tuple[str, list]:
        field = self.lhs.output_field
        if isinstance(value, KeySet) and _db_type(field, connection) == "uuid":
            return "%s::uuid[]", [value.literal]  # keys, never None: see KeySet
        # As `__in` does: a None matches nothing, and in an array it would turn a NOT into
        # NULL for every row (exclude() would hide them all).
        if None in value:
            value = frozenset(v for v in value if v is not None)
        db_type = _db_type(field, connection)
        if db_type in _LITERAL_TYPES and isinstance(value, frozenset):
            # Keys and integers never need quoting inside an array literal: one string
            # instead of a list psycopg would dump and check element by element (about a
            # third of the board's parameter handling at 1M rows).
            try:
                return f"%s::{db_type}[]", [_array_literal(db_type, value)]
            except (TypeError, ValueError):
                pass  # not a key after all: the field's own preparation says what is wrong
        # A parameter must not be a set or generator; each value is prepared as the field's.
        values = [field.get_db_prep_value(v, connection, prepared=False) for v in value]
        return "%s", [values]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]
