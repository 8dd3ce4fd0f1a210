"""What the audit triggers cost: contact write throughput with and without them, one database.

    .venv/bin/python scripts/bench_audit.py                 # the figures in docs/benchmarks.md
    .venv/bin/python scripts/bench_audit.py --history-rows 10000000   # + history queries at 10M

Without DATABASE_URL it starts a throwaway embedded PostgreSQL (config.localdb), migrates a
scratch database, measures and deletes everything. With DATABASE_URL it creates a scratch
database on that server (the role needs CREATEDB), and drops it afterwards.

Each workload runs in turn under three setups of crm_contact, `--repeat` times each, and the
median rows/s of each are compared with the first:
- off: the audit triggers disabled (ALTER TABLE ... DISABLE TRIGGER audit_insert, ...);
- row: the first design, generic FOR EACH ROW triggers (audit_log_row() of migration 0001,
  recreated here from that migration's SQL), kept to show what migration 0003 changed;
- statement: what ships, the generated statement-level triggers.
The touch_updated_at trigger and every index stay in place, and all runs happen inside an audit
context (as a command would), so the only difference is the audit triggers. Besides wall-clock
rows/s, the PostgreSQL backend's CPU time per row is read from /proc when the server is local:
on a busy machine it is the steadier figure. Workloads:
- bulk insert: bulk_create() of `--batch` contacts per transaction;
- bulk update: queryset update() of `--batch` contacts per transaction (every row changes);
- single insert / single update: one ORM create() / save() per transaction (autocommit), the
  shape of web requests.
The `--history-rows` option then fills audit_event with synthetic entries and times the
history and admin-log queries on it (EXPLAIN ANALYZE).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchlib.database import BackendClock  # noqa: E402 (after the path is set)

AUDIT_TRIGGERS = ("audit_insert", "audit_update", "audit_delete")
ROW_TRIGGERS = {
    "INSERT": "bench_row_insert",
    "UPDATE": "bench_row_update",
    "DELETE": "bench_row_delete",
}
VARIANTS = ("off", "row", "statement")


def _install_row_function() -> None:
    """The generic row-level function of migration 0001 (dropped by 0003), for comparison."""
    import importlib
    import re

    from django.db import connection

    sql = importlib.import_module("audit.migrations.0001_initial").FUNCTIONS_SQL
    function = re.search(r"CREATE FUNCTION public\.audit_log_row\(\).*?\n\$\$;", sql, re.S)
    with connection.cursor() as cursor:
        cursor.execute(function.group(0))
        for event, name in ROW_TRIGGERS.items():
            when = "WHEN (OLD.* IS DISTINCT FROM NEW.*) " if event == "UPDATE" else ""
            cursor.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON crm_contact FOR EACH ROW {when}"
                "EXECUTE FUNCTION public.audit_log_row('id', '', '', 'search_text')"
            )


def _use(variant: str) -> None:
    from django.db import connection

    def toggle(names: tuple[str, ...] | list[str], on: bool) -> str:
        verb = "ENABLE" if on else "DISABLE"
        return ", ".join(f"{verb} TRIGGER {name}" for name in names)

    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE crm_contact {toggle(AUDIT_TRIGGERS, variant == 'statement')}, "
            f"{toggle(list(ROW_TRIGGERS.values()), variant == 'row')}"
        )


def _contacts(n: int, owner: Any, tag: str) -> list[Any]:
    from crm.models import Contact

    return [
        Contact(
            first_name=f"First{i}",
            last_name=f"Last {tag} {i}",
            email=f"c{i}.{tag}@example.com",
            phone=f"+1 555 {i:07d}",
            city="Springfield",
            owner=owner,
            tags=["bench"],
            custom_fields={"source": "bench"},
        )
        for i in range(n)
    ]


class Bench:
    def __init__(self, rows: int, batch: int, single: int) -> None:
        from accounts.models import User

        self.rows, self.batch, self.single = rows, batch, single
        self.owner = User.objects.create_user("bench@example.com", password=None)
        self.run = 0

    def _tag(self) -> str:
        self.run += 1
        return f"r{self.run}"

    def bulk_insert(self) -> tuple[int, float]:
        from django.db import transaction

        from crm.models import Contact

        tag = self._tag()
        start = time.perf_counter()
        for offset in range(0, self.rows, self.batch):
            with transaction.atomic():
                Contact.objects.bulk_create(_contacts(self.batch, self.owner, f"{tag}-{offset}"))
        return self.rows, time.perf_counter() - start

    def bulk_update(self) -> tuple[int, float]:
        from django.db import transaction

        from crm.models import Contact

        tag = self._tag()
        ids = list(Contact.objects.values_list("pk", flat=True)[: self.rows])
        start = time.perf_counter()
        for offset in range(0, len(ids), self.batch):
            with transaction.atomic():
                Contact.objects.filter(pk__in=ids[offset : offset + self.batch]).update(
                    city=f"Shelbyville {tag}"
                )
        return len(ids), time.perf_counter() - start

    def single_insert(self) -> tuple[int, float]:
        tag = self._tag()
        rows = _contacts(self.single, self.owner, tag)
        start = time.perf_counter()
        for contact in rows:
            contact.save()
        return len(rows), time.perf_counter() - start

    def single_update(self) -> tuple[int, float]:
        from crm.models import Contact

        tag = self._tag()
        contacts = list(Contact.objects.order_by("-created_at")[: self.single])
        start = time.perf_counter()
        for contact in contacts:
            contact.position = f"Buyer {tag}"
            contact.save()
        return len(contacts), time.perf_counter() - start


@dataclass
class Result:
    workload: str
    rows_per_s: dict[str, float]
    cpu_us_per_row: dict[str, float | None]


def measure(bench: Bench, repeat: int) -> list[Result]:
    from django.db import connection

    clock = BackendClock()
    results = []
    for name in ("bulk_insert", "bulk_update", "single_insert", "single_update"):
        speeds: dict[str, list[float]] = {v: [] for v in VARIANTS}
        cpu: dict[str, list[float]] = {v: [] for v in VARIANTS}
        getattr(bench, name)()  # warm-up, not measured: caches, plans, the first page splits
        for turn in range(repeat):
            # Rotate who goes first: no setup always runs on the coldest or biggest table.
            for variant in VARIANTS[turn % 3 :] + VARIANTS[: turn % 3]:
                _use(variant)
                before = clock.read()
                rows, seconds = getattr(bench, name)()
                after = clock.read()
                speeds[variant].append(rows / seconds)
                if before is not None and after is not None:
                    cpu[variant].append((after - before) / rows * 1e6)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE crm_contact")
        result = Result(
            name.replace("_", " "),
            {v: statistics.median(speeds[v]) for v in VARIANTS},
            {v: statistics.median(cpu[v]) if cpu[v] else None for v in VARIANTS},
        )
        results.append(result)
        print(
            f"  {result.workload:14} "
            + "   ".join(f"{v} {result.rows_per_s[v]:7,.0f}/s" for v in VARIANTS),
            flush=True,
        )
    _use("statement")
    return results


def report(results: list[Result]) -> None:
    print("\nThroughput (wall clock, median rows/s) and cost of the triggers vs off:")
    print(f"{'workload':15} {'off':>9} {'row':>9} {'cost':>7} {'statement':>10} {'cost':>7}")
    for r in results:
        off, row, stmt = (r.rows_per_s[v] for v in VARIANTS)
        print(
            f"{r.workload:15} {off:9,.0f} {row:9,.0f} {1 - row / off:7.1%} "
            f"{stmt:10,.0f} {1 - stmt / off:7.1%}   (ratio statement/off {stmt / off:.2f})"
        )
    if all(r.cpu_us_per_row["off"] for r in results):
        print("\nPostgreSQL backend CPU per row (median us) and cost vs off:")
        print(f"{'workload':15} {'off':>9} {'row':>9} {'cost':>7} {'statement':>10} {'cost':>7}")
        for r in results:
            off, row, stmt = (r.cpu_us_per_row[v] for v in VARIANTS)
            # Cost in throughput terms: 1 - off/with (the share of throughput the triggers take).
            print(
                f"{r.workload:15} {off:9.1f} {row:9.1f} {1 - off / row:7.1%} "
                f"{stmt:10.1f} {1 - off / stmt:7.1%}"
            )


HISTORY_FILL_SQL = """
INSERT INTO audit_event
    (occurred_at, txid, action, table_name, record_id, changed_fields, snapshot, old_values,
     user_id, context)
SELECT now() - make_interval(secs => (%(n)s - g) * 3),
       g,
       CASE WHEN g %% 10 = 0 THEN 'insert' ELSE 'update' END,
       (ARRAY['crm_contact','crm_company','crm_deal','crm_lead','crm_task'])[1 + g %% 5],
       md5((g %% %(records)s)::text)::uuid::text,
       ARRAY['name'],
       jsonb_build_object('name', 'Name ' || g, 'city', 'Springfield', 'status', 'open'),
       jsonb_build_object('name', 'Old ' || g),
       (%(users)s::uuid[])[1 + g %% 20],
       jsonb_build_object('request_id', md5(g::text), 'path', '/contacts/', 'ip', '10.0.0.1')
FROM generate_series(1, %(n)s) AS g
"""


def _explain(sql: str, params: Any) -> tuple[float, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = plan[0] if isinstance(plan, list) else plan
    top = plan["Plan"]
    nodes, stack = [], [top]
    while stack:
        node = stack.pop()
        nodes.append(node.get("Index Name") or node["Node Type"])
        stack.extend(node.get("Plans", []))
    return plan["Execution Time"], " > ".join(nodes)


def history_queries(rows: int) -> list[tuple[str, float, str]]:
    from django.db import connection

    from accounts.models import User
    from audit.models import AuditEvent
    from audit.selectors import record_history_queryset
    from crm.models import Contact

    users = [User.objects.create_user(f"u{i}@bench.example", password=None) for i in range(20)]
    print(f"Filling audit_event with {rows:,} synthetic entries ...", flush=True)
    start = time.perf_counter()
    records = max(rows // 20, 1)  # 20 entries per record on average
    with connection.cursor() as cursor:
        cursor.execute(
            HISTORY_FILL_SQL, {"n": rows, "records": records, "users": [str(u.pk) for u in users]}
        )
        cursor.execute("VACUUM ANALYZE audit_event")
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('audit_event'))")
        size = cursor.fetchone()[0]
    print(f"  filled in {time.perf_counter() - start:,.0f} s; audit_event is {size}", flush=True)

    record = str(uuid.UUID(__import__("hashlib").md5(b"4242").hexdigest()))
    queries = {
        "one record's history (50 newest)": record_history_queryset(
            model=Contact, record_id=record
        )[:50],
        "admin log, first page": AuditEvent.objects.select_related("user").order_by("-id")[:50],
        "admin log, one table": AuditEvent.objects.filter(table_name="crm_deal").order_by("-id")[
            :50
        ],
        "admin log, one user": AuditEvent.objects.filter(user_id=users[3].pk).order_by("-id")[:50],
        "admin log, search by record id": AuditEvent.objects.filter(record_id=record).order_by(
            "-id"
        )[:50],
    }
    results = []
    for label, queryset in queries.items():
        sql, params = queryset.query.sql_with_params()
        _explain(sql, params)  # warm the cache: the figures are for a warm server
        ms, plan = _explain(sql, params)
        results.append((label, ms, plan))
        print(f"  {label:34} {ms:8.2f} ms   {plan}", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows per bulk run")
    parser.add_argument("--batch", type=int, default=1_000, help="rows per bulk transaction")
    parser.add_argument("--single", type=int, default=2_000, help="rows per single-row run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side and workload")
    parser.add_argument("--history-rows", type=int, default=0, help="then time history queries")
    args = parser.parse_args()

    from config import localdb

    with localdb.scratch_django():
        from audit.context import audit_context

        with audit_context({"user_id": None, "command": "bench_audit"}):
            bench = Bench(args.rows, args.batch, args.single)
            _install_row_function()
            print(
                f"Contacts, {args.repeat} runs per setup, median (bulk: {args.rows:,} rows in "
                f"batches of {args.batch:,}; single: {args.single:,} rows):",
                flush=True,
            )
            results = measure(bench, args.repeat)
            report(results)
            if args.history_rows:
                print()
                history_queries(args.history_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
