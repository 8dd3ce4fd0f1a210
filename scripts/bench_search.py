"""How fast the header search is on a big CRM: global_search() timed at N contacts.

    .venv/bin/python scripts/bench_search.py                       # 200k contacts
    .venv/bin/python scripts/bench_search.py --contacts 1000000    # 1M

Without DATABASE_URL it starts a throwaway embedded PostgreSQL (config.localdb), migrates a
scratch database, measures and deletes everything. With DATABASE_URL it creates a scratch
database on that server (the role needs CREATEDB), and drops it afterwards.

Data: N contacts and N/20 each of companies, leads and deals, made in SQL with
generate_series from a few hundred realistic first and last names (Faker, fixed seed), so
common names repeat as they do in real data; owners are 40 sales reps in 8 teams, a fifth of
the rows shared with the team; plus one John Smith. Indexes other than the primary key are
dropped for the load and rebuilt after it (faster than growing them row by row), the audit
triggers are off for the load (the benchmark is about reads), then ANALYZE.

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
AUDIT_TRIGGERS = ("audit_insert", "audit_update", "audit_delete")


def _names() -> tuple[list[str], list[str], list[str]]:
    from faker import Faker

    fake = Faker()
    fake.seed_instance(2024)
    first = sorted({fake.first_name().replace("'", "") for _ in range(3000)})[:400]
    last = sorted({fake.last_name().replace("'", "") for _ in range(5000)})[:600]
    words = sorted({fake.word().replace("'", "") for _ in range(2000)})[:300]
    return first, last, words


def _sql_array(values: list[str]) -> str:
    # Parenthesised: an ARRAY[...] constructor can only be subscripted that way.
    return "(ARRAY[" + ",".join(f"'{v}'" for v in values) + "])"


def _filler(model: Any, given: dict[str, str]) -> tuple[list[str], list[str]]:
    """(columns, SQL expressions) for an INSERT ... SELECT of `model`: `given` for the columns
    the benchmark sets, the field's default (or NULL) for every other column."""
    from django.db import models

    columns, values = [], []
    for field in model._meta.concrete_fields:
        if isinstance(field, models.GeneratedField):
            continue
        columns.append(field.column)
        if field.column in given:
            values.append(given[field.column])
        elif field.null:
            values.append("NULL")
        elif isinstance(field, models.BooleanField):
            values.append("true" if field.default is True else "false")
        elif isinstance(field, models.JSONField):
            values.append("'[]'::jsonb" if field.default is list else "'{}'::jsonb")
        elif field.get_internal_type() == "ArrayField":
            values.append("'{}'")
        elif isinstance(field, models.DecimalField | models.IntegerField):
            values.append("0")
        elif isinstance(field, models.DateTimeField):
            values.append("now()")
        else:
            default = field.default if isinstance(field.default, str) else ""
            values.append(f"'{default}'")
    return columns, values


def _insert(model: Any, n: int, given: dict[str, str]) -> None:
    from django.db import connection

    columns, values = _filler(model, given)
    with connection.cursor() as cursor:
        # Built from the model's columns and the fixed expressions above, never from input.
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(values)} FROM generate_series(1, {n}) AS g(i)"
        )


def _drop_indexes(tables: list[str]) -> list[str]:
    """Drop every index but the primary keys and unique ones; return their definitions."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary "
            "AND NOT i.indisunique",
            [tables],
        )
        rows = cursor.fetchall()
        for name, _ in rows:
            cursor.execute(f"DROP INDEX {name}")
    return [definition for _, definition in rows]


def load(contacts: int) -> tuple[Any, Any]:
    """Fill the scratch database; return (an admin, a sales rep)."""
    from django.db import connection

    from accounts.models import Team, User
    from crm.models import Company, Contact, Deal, Lead
    from crm.services.pipelines import pipeline_ensure_default

    first, last, words = _names()
    admin = User.objects.create_superuser("admin@bench.example", password=None)
    reps = []
    for t in range(8):
        team = Team.objects.create(name=f"Team {t}")
        reps += [
            User.objects.create_user(f"rep{t}.{r}@bench.example", password=None, team=team)
            for r in range(5)
        ]
    rep_ids = "(ARRAY[" + ",".join(f"'{u.pk}'::uuid" for u in reps) + "])"
    pipeline = pipeline_ensure_default()
    stage_ids = "(ARRAY[" + ",".join(f"'{s.pk}'::uuid" for s in pipeline.stages.all()) + "])"
    tables = [m._meta.db_table for m in (Company, Contact, Lead, Deal)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for table in tables:
            cursor.execute(
                f"ALTER TABLE {table} {', '.join(f'DISABLE TRIGGER {t}' for t in AUDIT_TRIGGERS)}"
            )
    definitions = _drop_indexes(tables)
    f, la, w = _sql_array(first), _sql_array(last), _sql_array(words)
    pick = "[1 + floor(random() * {n})::int]"
    fn, ln, wd = (
        f + pick.format(n=len(first)),
        la + pick.format(n=len(last)),
        w + pick.format(n=len(words)),
    )
    owner = f"{rep_ids}[1 + (i % {len(reps)})]"
    shared = "(i % 5 = 0)"
    others = max(contacts // 20, 1)
    started = time.perf_counter()
    # Company ids derive from the row number, so contacts can point at a random one.
    _insert(
        Company,
        others,
        {
            "id": "md5('company' || i)::uuid",
            "name": f"initcap({wd}) || ' ' || {ln} || ' ' || i",
            "domain": f"{wd} || i || '.example'",
            "email": f"'info@' || {wd} || i || '.example'",
            "phone": "'+1 555 ' || lpad(i::text, 7, '0')",
            "owner_id": owner,
            "shared_with_team": shared,
            "type": "'customer'",
            "status": "'active'",
        },
    )
    _insert(
        Contact,
        contacts,
        {
            "id": "gen_random_uuid()",
            "first_name": fn,
            "last_name": ln,
            "email": f"lower({fn} || '.' || {ln} || i || '@example.com')",
            "phone": "'+1 555 ' || lpad(i::text, 7, '0')",
            "owner_id": owner,
            "shared_with_team": shared,
            "type": "'customer'",
            "is_active": "true",
            "company_id": f"md5('company' || (1 + floor(random() * {others}))::int)::uuid",
        },
    )
    _insert(
        Lead,
        others,
        {
            "id": "gen_random_uuid()",
            "first_name": fn,
            "last_name": ln,
            "email": f"lower({fn} || '.' || {ln} || i || '@lead.example')",
            "company_name": f"initcap({wd}) || ' ' || {ln}",
            "owner_id": owner,
            "shared_with_team": shared,
            "status": "'new'",
        },
    )
    _insert(
        Deal,
        others,
        {
            "id": "gen_random_uuid()",
            "name": f"initcap({wd}) || ' ' || {ln} || ' deal ' || i",
            "pipeline_id": f"'{pipeline.pk}'::uuid",
            "stage_id": f"{stage_ids}[1 + (i % 4)]",
            "owner_id": owner,
            "shared_with_team": shared,
            "status": "'open'",
            "currency": "'USD'",
            "amount": "(random() * 100000)::numeric(18, 2)",
        },
    )
    rep = reps[0]
    Contact.objects.create(
        first_name="John",
        last_name="Smith",
        email="john.smith@example.com",
        phone="+1 555 010 2030",
        owner=rep,
    )
    print(f"  rows inserted in {time.perf_counter() - started:.1f}s", flush=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for definition in definitions:
            cursor.execute(definition)
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"  {len(definitions)} indexes rebuilt, ANALYZE in {time.perf_counter() - started:.1f}s")
    return admin, rep


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
