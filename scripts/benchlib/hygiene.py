"""Query hygiene of a page, in-process: its SQL queries, and EXPLAIN of each SELECT for
sequential scans of tables over BIG_TABLE_ROWS rows and the slowest query's plan."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from scripts.benchlib.client import Page

BIG_TABLE_ROWS = 10_000


@dataclass
class Hygiene:
    user: str
    page: str
    status: int
    queries: int
    selects_explained: int
    seq_scans: list[str]
    sql_ms: float
    page_ms: float
    slowest_sql: str
    slowest_ms: float
    slowest_plan: list[str]
    seq_scans_not_run: list[str] = field(default_factory=list)  # planned, loops = 0
    seq_scan_sql: str = ""
    seq_scan_plan: list[str] = field(default_factory=list)

    @property
    def python_ms(self) -> float:
        return round(max(self.page_ms - self.sql_ms, 0.0), 1)


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def _plan_summary(plan: dict[str, Any], limit: int = 12) -> list[str]:
    lines: list[str] = []

    def visit(node: dict[str, Any], depth: int) -> None:
        if len(lines) >= limit:
            return
        label = node["Node Type"]
        if node.get("Relation Name"):
            label += f" on {node['Relation Name']}"
        if node.get("Index Name"):
            label += f" using {node['Index Name']}"
        extra = node.get("Filter") or node.get("Index Cond") or node.get("Hash Cond") or ""
        actual = node.get("Actual Total Time")
        rows = node.get("Actual Rows")
        loops = node.get("Actual Loops")
        text = f"{'  ' * depth}{label} (rows={rows} loops={loops} time={actual} ms)"
        if extra:
            text += f" [{extra[:160]}]"
        lines.append(text)
        for child in node.get("Plans", []):
            visit(child, depth + 1)

    visit(plan, 0)
    return lines


def _first_chunk(response: Any) -> None:
    """Read a streamed response's first chunk (the queries of its start), then close it; as
    the HTTP run does, not the whole million-row file."""
    if getattr(response, "streaming", False):
        next(iter(response.streaming_content), b"")
        response.close()


_SAVEPOINTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def _explained(connection: Any, captured: list[dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    """(sql, EXPLAIN ANALYZE document, or None when it failed) for each SELECT of a page, in
    the planner settings it ran with. A page changes some for one transaction (the typo tier
    its similarity threshold, reads with bitmap scans only: `set_config(..., true)`): its
    statements are replayed in order inside one transaction that is rolled back, each of its
    transactions a savepoint rolled back at its COMMIT, so a setting lasts as long as it did.
    EXPLAINed alone, such a query was planned without them, and reported a sequential scan
    the page never ran."""
    from django.db import transaction

    with transaction.atomic(using=connection.alias), connection.cursor() as cur:
        opened = False  # a page's transaction being replayed
        try:
            for query in captured:
                sql = query["sql"] or ""
                head = sql.lstrip().upper()
                if head == "BEGIN" and not opened:
                    cur.execute("SAVEPOINT hygiene_tx")
                    opened = True
                elif head in ("COMMIT", "ROLLBACK") and opened:
                    cur.execute("ROLLBACK TO SAVEPOINT hygiene_tx")
                    cur.execute("RELEASE SAVEPOINT hygiene_tx")
                    opened = False
                elif head.startswith(_SAVEPOINTS) or "SET_CONFIG" in head:
                    cur.execute(sql)  # the page's own savepoints and settings, as it ran them
                elif head.startswith(("SELECT", "WITH")):
                    cur.execute("SAVEPOINT hygiene_q")
                    try:
                        cur.execute("EXPLAIN (ANALYZE, SETTINGS, FORMAT JSON) " + sql)
                    except Exception:
                        cur.execute("ROLLBACK TO SAVEPOINT hygiene_q")
                        yield sql, None
                        continue
                    raw = cur.fetchone()[0]
                    cur.execute("RELEASE SAVEPOINT hygiene_q")
                    yield sql, (json.loads(raw) if isinstance(raw, str) else raw)[0]
        finally:
            transaction.set_rollback(True, using=connection.alias)


def hygiene(pages_: list[Page], users: dict[str, Any], deep_urls: dict[str, str]) -> list[Hygiene]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    with connection.cursor() as cur:
        cur.execute("SELECT relname, reltuples FROM pg_class WHERE relkind IN ('r', 'p', 'm')")
        reltuples = {name: rows for name, rows in cur.fetchall()}

    results: list[Hygiene] = []
    for user_label, user in users.items():
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        for page in pages_:
            url = deep_urls[user_label] if page.name.startswith("contacts.page") else page.url
            extra = {"HTTP_HX_REQUEST": "true"} if page.htmx else {}
            _first_chunk(client.get(url, **extra))  # warm: templates loaded, caches filled
            t0 = time.perf_counter()
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url, **extra)
                _first_chunk(response)  # a streamed export: its first query runs here
            page_ms = (time.perf_counter() - t0) * 1000
            captured = list(ctx.captured_queries)
            seq: set[str] = set()
            seq_not_run: set[str] = set()
            explained = 0
            sql_ms = 0.0
            slowest: tuple[str, float, list[str]] = ("", 0.0, [])
            seq_query: tuple[str, list[str]] = ("", [])
            for sql, doc in _explained(connection, captured):
                if doc is None:
                    print(f"  EXPLAIN failed on {page.name}: {sql[:120]}", flush=True)
                    continue
                explained += 1
                ms = float(doc.get("Execution Time", 0.0)) + float(doc.get("Planning Time", 0.0))
                sql_ms += ms
                for node in _walk(doc["Plan"]):
                    rel = node.get("Relation Name")
                    if node["Node Type"] == "Seq Scan" and reltuples.get(rel, 0) > BIG_TABLE_ROWS:
                        name = f"{rel} (~{int(reltuples[rel]):,} rows)"
                        if not node.get("Actual Loops"):
                            seq_not_run.add(name)  # an alternative subplan PostgreSQL skipped
                            continue
                        seq.add(name)
                        if not seq_query[0]:
                            seq_query = (sql, _plan_summary(doc["Plan"]))
                if ms > slowest[1]:
                    slowest = (sql, ms, _plan_summary(doc["Plan"]))
            results.append(
                Hygiene(
                    user=user_label,
                    page=page.name,
                    status=response.status_code,
                    queries=len(captured),
                    selects_explained=explained,
                    seq_scans=sorted(seq),
                    seq_scans_not_run=sorted(seq_not_run - seq),
                    sql_ms=round(sql_ms, 1),
                    page_ms=round(page_ms, 1),
                    slowest_sql=slowest[0],
                    slowest_ms=round(slowest[1], 1),
                    slowest_plan=slowest[2],
                    seq_scan_sql=seq_query[0],
                    seq_scan_plan=seq_query[1],
                )
            )
    return results
