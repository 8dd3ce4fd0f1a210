"""Helpers for tests that write past Django's validation to prove a database constraint."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import IntegrityError, connection, models, transaction


@contextmanager
def refused_by(constraint: str) -> Iterator[None]:
    """Expect the block to be refused by the database constraint (or unique index) named."""
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        yield
    # psycopg reports which constraint fired; a bare IntegrityError could be any of them.
    assert excinfo.value.__cause__.diag.constraint_name == constraint


def raw_update(model: type[models.Model], pk: Any, assignment: str, *params: Any) -> None:
    """UPDATE one row with hand-written SQL, as a script or another client would."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {model._meta.db_table} SET {assignment} WHERE id = %s",  # noqa: S608
            [*params, pk],
        )


def refetch(obj: models.Model) -> models.Model:
    return type(obj)._base_manager.get(pk=obj.pk)
