"""Record an export in the audit log: an `export` entry with who, which table and what filter.

An export reads and writes nothing, so no trigger would see it. The entry is written by the
SECURITY DEFINER function `audit_export()` (migration 0004), because the app's role may not
INSERT into audit_event; like every entry it takes the user and the request (or command) from
the transaction's audit context, and `db_role` from the session.

    audit_export(table="crm_contact", details={"entity": "contact", "query": "owner=me"})
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from audit.context import apply_now

EXPORT_SQL = "SELECT public.audit_export(%s, %s::jsonb)"


def audit_export(*, table: str, details: Mapping[str, Any], using: str = DEFAULT_DB_ALIAS) -> int:
    """Write one `export` entry for `table` with `details` (JSON-serialisable: dates, UUIDs
    and decimals as strings) as its snapshot; returns the entry's id.

    Its own short transaction (or a savepoint of the caller's): the context is
    transaction-local, so it must be set in the same transaction as the SELECT that writes.
    """
    with transaction.atomic(using=using):
        apply_now(using)
        with connections[using].cursor() as cursor:
            cursor.execute(EXPORT_SQL, [table, json.dumps(dict(details), cls=DjangoJSONEncoder)])
            return cursor.fetchone()[0]
