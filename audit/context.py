"""Who and what is writing: carried to the audit triggers in a transaction-local setting.

The triggers read `current_setting('minicrm.audit_context')`, a JSON object such as
`{"user_id": ..., "request_id": ..., "method": "POST", "path": "/deals/1/", "ip": ...}` or
`{"command": "audit_prune", "args": [], "options": {...}}`. It is set with
`set_config('minicrm.audit_context', ..., true)`: local to the transaction, so it can never leak
into the next request on a pooled connection.

`audit_context()` is the one way to set it. The middleware (one request) and the management
command wrapper (one command) each open one; no other code calls set_config for it. Inside the
block, a connection execute wrapper makes sure every transaction that writes carries the
context (`apply_now()` pushes it early for the audit's own SQL functions):
- inside `transaction.atomic()`: one extra `SELECT set_config(...)` before the transaction's
  first write (again if the context changes mid-transaction, e.g. a test calling a command);
- in autocommit mode, a write statement is its own transaction, so it is wrapped in a short
  `atomic()` with the set_config first.
Reads cost nothing (a request that only reads never even loads request.user), and DDL is left
alone (a `CREATE INDEX CONCURRENTLY` must stay outside any transaction).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg.pq import TransactionStatus

SET_SQL = "SELECT set_config('minicrm.audit_context', %s, true)"

# Statements that write rows (or empty a table) and so need the context in their transaction.
WRITE_KEYWORDS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "WITH", "TRUNCATE", "COPY"})
_FIRST_WORD = re.compile(r"\s*(\w+)")

ContextSource = Mapping[str, Any] | Callable[[], Mapping[str, Any]]

# The innermost active context: a mapping, or a callable evaluated per transaction (the
# middleware's, so that request.user is only loaded by requests that write).
_current: ContextVar[ContextSource | None] = ContextVar("audit_context", default=None)


def current_payload() -> str:
    """The JSON the triggers will see for the active context ('' outside any)."""
    source = _current.get()
    if source is None:
        return ""
    values = source() if callable(source) else source
    return json.dumps(dict(values), separators=(",", ":"), default=str)


class _ConnectionState:
    """Per connection: the payload set in its open transaction, and a re-entrancy guard."""

    def __init__(self) -> None:
        self.applied = ""
        self.busy = False


def _state(connection: BaseDatabaseWrapper) -> _ConnectionState:
    state = getattr(connection, "_audit_state", None)
    if state is None:
        state = connection._audit_state = _ConnectionState()
    return state


def _apply(connection: BaseDatabaseWrapper, payload: str) -> None:
    # The raw psycopg cursor: no execute wrappers (no recursion), no query logging.
    with connection.connection.cursor() as cursor:
        cursor.execute(SET_SQL, [payload])
    _state(connection).applied = payload


def _is_write(sql: Any) -> bool:
    head = _FIRST_WORD.match(sql if isinstance(sql, str) else str(sql))
    return head is not None and head.group(1).upper() in WRITE_KEYWORDS


def _inject_context(
    execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Execute wrapper: put the active context into the transaction of each write."""
    connection = context["connection"]
    state = _state(connection)
    status = connection.connection.info.transaction_status
    if status == TransactionStatus.IDLE:
        state.applied = ""  # whatever was set belonged to a finished transaction
    if state.busy or not _is_write(sql):
        return execute(sql, params, many, context)
    payload = _payload(state)
    if status == TransactionStatus.IDLE and connection.get_autocommit():
        if not payload:
            return execute(sql, params, many, context)
        # A write in autocommit mode is its own transaction: give it one to carry the context.
        with transaction.atomic(using=connection.alias):
            _apply(connection, payload)
            return execute(sql, params, many, context)
    if status in (TransactionStatus.IDLE, TransactionStatus.INTRANS) and payload != state.applied:
        _apply(connection, payload)
    return execute(sql, params, many, context)


def _payload(state: _ConnectionState) -> str:
    # Computing the payload may itself query (request.user); those queries pass straight through.
    state.busy = True
    try:
        return current_payload()
    finally:
        state.busy = False


def apply_now(using: str = DEFAULT_DB_ALIAS) -> None:
    """Set the active context in the open transaction now, for a statement the wrapper does not
    see as a write (`SELECT public.audit_bulk_begin(...)`, `SELECT public.audit_prune(...)`)."""
    connection = connections[using]
    connection.ensure_connection()
    state = _state(connection)
    if connection.connection.info.transaction_status == TransactionStatus.IDLE:
        state.applied = ""
    payload = _payload(state)
    if payload != state.applied:
        _apply(connection, payload)


def _release(connection: BaseDatabaseWrapper) -> None:
    """Leaving the outermost context: clear it from a transaction that is still open."""
    raw = connection.connection
    state = _state(connection)
    in_transaction = raw is not None and raw.info.transaction_status == TransactionStatus.INTRANS
    if state.applied and in_transaction:
        _apply(connection, "")
    state.applied = ""


@contextmanager
def audit_context(source: ContextSource) -> Iterator[None]:
    """Attribute every database write inside the block to `source`.

    `source` is a mapping (or a callable returning one) with `user_id` (who acts, or None) and
    whatever describes the writer: request id, method, path and IP for a web request; command,
    args and options for a management command. Blocks nest: the innermost wins, and the outer
    context is back in force after it.
    """
    token = _current.set(source)
    try:
        with ExitStack() as stack:
            for connection in connections.all(initialized_only=False):
                if _inject_context not in connection.execute_wrappers:
                    stack.enter_context(connection.execute_wrapper(_inject_context))
                    stack.callback(_release, connection)
            yield
    finally:
        _current.reset(token)


@contextmanager
def audit_context_with(**extra: Any) -> Iterator[None]:
    """The active context plus `extra` keys (the innermost wins on a clash), for one part of
    a request or command that the log should single out: a CSV import's writes carry
    `csv_import`, so undo finds them and the history says which import changed a record."""
    outer = _current.get()

    def merged() -> dict[str, Any]:
        base = (outer() if callable(outer) else outer) or {}
        return {**base, **extra}

    with audit_context(merged):
        yield
