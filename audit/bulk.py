"""The bulk opt-out: one summary entry per batch instead of one entry per row.

The only supported way to write without per-row audit entries, meant for bulk paths such as the
MongoDB import. It is never the default: code outside this block is always audited row by row.

    with audit_bulk_batch(
        description="migrate_from_mongo: contacts",
        details={"collection": "contacts", "first_id": "65a0", "last_id": "65a9", "count": 500},
    ):
        Contact.objects.bulk_create(rows)

How it holds (see docs/audit.md, "Bulk opt-out"):
- the block is one transaction (or a savepoint of the caller's); `audit_bulk_begin()` writes the
  summary entry first, then sets the transaction-local `minicrm.audit_bulk` to its id;
- each row trigger skips its row only if that id is a bulk summary written in the same
  transaction, so setting the variable by hand silences nothing, and a batch that rolls back
  takes its summary with it;
- on leaving the block the variable is cleared, so writes after it in the same transaction are
  audited row by row again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from audit.context import apply_now

BEGIN_SQL = "SELECT public.audit_bulk_begin(%s, %s::jsonb)"
END_SQL = "SELECT set_config('minicrm.audit_bulk', '', true)"


@contextmanager
def audit_bulk_batch(
    *, description: str, details: Mapping[str, Any] | None = None, using: str = DEFAULT_DB_ALIAS
) -> Iterator[int]:
    """Run the block as one batch that leaves a single `bulk` audit entry; yields its id.

    `description` says what the batch is; `details` (JSON-serialisable) say which rows: the
    source, id range, counts. Both are stored in the summary entry's snapshot, with the user
    and request or command context like any entry.
    """
    connection = connections[using]
    with transaction.atomic(using=using):
        apply_now(using)  # the summary entry carries the user and request or command
        with connection.cursor() as cursor:
            payload = json.dumps(details or {}, cls=DjangoJSONEncoder)
            cursor.execute(BEGIN_SQL, [description, payload])
            batch_id = cursor.fetchone()[0]
        yield batch_id
        # On an exception the atomic block rolls back, and the setting with it.
        with connection.cursor() as cursor:
            cursor.execute(END_SQL)
