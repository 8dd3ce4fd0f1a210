"""How fast the header search is on a big CRM: global_search() timed at N contacts.

    .venv/bin/python scripts/bench_search.py                       # 200k contacts
    .venv/bin/python scripts/bench_search.py --contacts 1000000    # 1M

Without DATABASE_URL it starts a throwaway embedded PostgreSQL (config.localdb), migrates a
scratch database, measures and deletes everything. With DATABASE_URL it creates a scratch
database on that server (the role needs CREATEDB), and drops it afterwards.

Data: N contacts and N/20 each of companies, leads and deals, made by the scale dataset's
generator (crm/scale, what `manage.py seed_scale` runs; no notes or tasks here, search does not
read them): SQL with generate_series over a few hundred realistic first and last names (Faker,
fixed seed), so common names repeat as they do in real data; owners are the 15 sales reps and
4 managers of 4 teams, 30% of the rows shared with the team; plus one John Smith. Indexes other
than primary keys and unique ones are dropped for the load and rebuilt after it, each batch is
one bulk audit entry instead of a row entry per row (audit.bulk), then VACUUM ANALYZE.

Each query runs `--repeat` times as an admin (no visibility filter: the search indexes alone
narrow the scan) and as a sales rep (visibility filter on top), and the table shows p50/p95 of
the whole global_search() call: the threshold, then one query per type (4). EXPLAIN ANALYZE of
the contact query follows for each query.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = [
    ("exact", "John Smith"),
    ("prefix", "joh"),
    ("prefix, two words", "john smi"),
    ("two typos", "Jonh Smiht"),
    ("email", "john.smith@example.com"),
    ("phone", "555 010 2030"),
]


def load(contacts: int) -> tuple[Any, Any]:
    """Fill the scratch database with the scale dataset's generator (crm/scale), at this
    benchmark's proportions; return (an admin, a sales rep)."""
    from crm import scale

    others = max(contacts // 20, 1)
    plan = scale.Plan(
        contacts=contacts,
        companies=others,
        leads=others,
        deals=others,
        notes=0,
        tasks=0,
        history=0,
    )
    report = scale.seed(plan, seed=42, out=lambda line: None)
    print(f"  rows inserted in {report.insert_seconds:.1f}s", flush=True)
    print(f"  {report.index_count} indexes rebuilt, ANALYZE in {report.index_seconds:.1f}s")
    return report.admin, report.rep


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def measure(users: dict[str, Any], repeat: int) -> list[tuple[str, str, str, float, float, int]]:
    from crm.selectors.search import global_search

    rows = []
    for label, query in QUERIES:
        for who, user in users.items():
            global_search(user=user, query=query)  # warm the cache and the plan
            timings = []
            for _ in range(repeat):
                start = time.perf_counter()
                results = global_search(user=user, query=query)
                timings.append((time.perf_counter() - start) * 1000)
            p50, p95 = statistics.median(timings), _percentile(timings, 95)
            rows.append((label, query, who, p50, p95, results.total))
    return rows


def explain(user: Any) -> None:
    from django.db import connection, transaction

    from crm.models import Contact
    from crm.selectors.search import search_sql, use_search_threshold

    for label, query in QUERIES:
        with transaction.atomic():
            use_search_threshold()
            sql, params = search_sql(user=user, model=Contact, query=query, limit=5)
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                plan = "\n".join(f"    {row[0]}" for row in cursor.fetchall())
        print(f"\n  {label}: {query!r}\n{plan}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=200_000, help="contacts to load")
    parser.add_argument("--repeat", type=int, default=20, help="runs per query and user")
    parser.add_argument("--no-explain", action="store_true", help="skip EXPLAIN ANALYZE")
    args = parser.parse_args()

    from config import localdb

    with localdb.scratch_django():
        print(
            f"Loading {args.contacts:,} contacts (+{args.contacts // 20:,} companies, "
            "leads and deals each) ...",
            flush=True,
        )
        admin, rep = load(args.contacts)
        rows = measure({"admin": admin, "sales rep": rep}, args.repeat)
        print(f"\nglobal_search(), 4 types, top 5 each, {args.repeat} runs, ms:")
        print(f"  {'query':<20} {'text':<24} {'as':<10} {'p50':>7} {'p95':>7} {'hits':>5}")
        for label, query, who, p50, p95, hits in rows:
            print(f"  {label:<20} {query:<24} {who:<10} {p50:7.1f} {p95:7.1f} {hits:5d}")
        if not args.no_explain:
            print("\nEXPLAIN ANALYZE of the contact query, as the admin:")
            explain(admin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
