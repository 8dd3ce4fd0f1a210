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
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from django.db.models import ForeignObject, IntegerField, Lookup, UUIDField

# Column types whose values print as array elements needing no quotes or escapes.
_LITERAL_TYPES = {"uuid", "integer", "bigint", "smallint"}


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
        # As `__in` does: a None matches nothing, and in an array it would turn a NOT into
        # NULL for every row (exclude() would hide them all).
        if None in value:
            value = frozenset(v for v in value if v is not None)
        db_type = field.target_field.db_type(connection) if field.is_relation else None
        db_type = db_type or field.db_type(connection)
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
