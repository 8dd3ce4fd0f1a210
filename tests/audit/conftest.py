"""Fixtures for the audit tests: an acting user, an audit context, and the entries a test made.

Entries are found by id above a mark taken when the test starts: audit_event is unmanaged, so
transactional tests' flushes leave earlier tests' entries in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from django.db.models import Max

from accounts.factories import UserFactory
from accounts.models import User
from audit.context import audit_context
from audit.models import AuditEvent

NewEntries = Callable[..., list[AuditEvent]]


@pytest.fixture
def actor(db: None) -> User:
    return UserFactory(email="actor@example.com", name="Ada Actor")


@pytest.fixture
def acting(actor: User) -> Callable[[], AbstractContextManager[None]]:
    """`with acting():` writes as `actor` in a request-like context."""

    def block() -> AbstractContextManager[None]:
        return audit_context({"user_id": actor.pk, "request_id": "req-test-1", "path": "/test/"})

    return block


@pytest.fixture
def new_entries(db: None) -> Iterator[NewEntries]:
    """Entries written since the test started, oldest first, optionally filtered."""
    mark = AuditEvent.objects.aggregate(m=Max("id"))["m"] or 0

    def entries(**filters: object) -> list[AuditEvent]:
        return list(AuditEvent.objects.filter(id__gt=mark, **filters).order_by("id"))

    yield entries
