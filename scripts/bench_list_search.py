"""How fast a text search in the contacts list and the contact type-ahead answer at scale.

    .venv/bin/python scripts/bench_list_search.py --database-url URL   # a seed_scale database
    .venv/bin/python scripts/bench_list_search.py                      # seeds 1M contacts first

Both read their first rows through crm.fence.first_rows (a walk of the sort's index bounded
to HEAD_SCAN rows, then the planner's plan or bitmaps). The cases that decide between those
are the users' share of the matches: rep01 owns seed_scale's big company (20,000 contacts, all
rep01's), rep02 is in another team and sees almost none of them, manager01 leads rep01's team.
Queries: a common first name, a common email domain, the big company's domain, a phone
fragment that matches nearly everyone, a typo.

Timed in-process (Django's test client, signed in with force_login, DEBUG off): the whole
request, view and template included, but no HTTP; p50 / p95 of `--requests` after
`--warmup`, interleaved (each round asks every case once) so a drift in the host's speed
spreads over all cases alike. "route" says how first_rows answered the last request: walk
(the bounded walk found the page), plain (the planner's plan, matches dense enough), bitmaps,
or "-" when no first_rows ran (code before it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchlib.database import django_database  # noqa: E402

USERS = ("rep01", "rep02", "manager01")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a seed_scale database (else 1M are seeded)")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=15, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests per case first")
    return parser.parse_args(argv)


def cases(big_domain: str) -> list[tuple[str, str]]:
    """(label, URL) for the list and the type-ahead, each with every query."""
    queries = [
        ("first name", "john"),
        ("mail domain", "outlook.com"),
        ("big company", big_domain),
        ("phone digits", "555"),
        ("typo", "jonh"),
    ]
    listed = [(f"list · {label}", f"/contacts/?q={q}") for label, q in queries]
    typed = [(f"type-ahead · {label}", f"/autocomplete/contact/?q={q}") for label, q in queries]
    return listed + typed


def route(sql: list[str]) -> str:
    if any(
        "set_config('enable_indexscan', 'off', true)" in s and "current_setting" in s for s in sql
    ):
        return "bitmaps"
    fenced = [i for i, s in enumerate(sql) if s.startswith('WITH "crm_contact"')]
    if not fenced:
        return "-"
    after = [s for s in sql[fenced[0] + 1 :] if s.startswith('SELECT "crm_contact"')]
    return "walk" if after and '"crm_contact"."id" IN (' in after[0] else "plain"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("MINICRM_ENV", "development")
    os.environ["DEBUG"] = "false"
    with django_database(args.database_url):
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from accounts.models import User
        from crm import scale
        from crm.models import Company

        if not args.database_url:
            call_command("seed_scale", "--contacts", str(args.contacts))
        big = Company.objects.filter(pk=scale.BIG_COMPANY_ID).values_list("domain", flat=True)
        big_domain = (big.first() or "example.com").split(".")[0]
        clients: dict[str, Any] = {}
        for name in USERS:
            clients[name] = Client()
            clients[name].force_login(User.objects.get(email=f"{name}@{scale.SCALE_DOMAIN}"))
        todo = [(user, label, url) for label, url in cases(big_domain) for user in USERS]
        times: dict[tuple[str, str], list[float]] = {(u, lbl): [] for u, lbl, _ in todo}
        routes: dict[tuple[str, str], str] = {}
        for round_no in range(args.warmup + args.requests):
            for user, label, url in todo:
                with CaptureQueriesContext(connection) as queries:
                    t0 = time.perf_counter()
                    response = clients[user].get(url)
                    elapsed = (time.perf_counter() - t0) * 1000
                assert response.status_code == 200, (user, url, response.status_code)
                if round_no >= args.warmup:
                    times[(user, label)].append(elapsed)
                routes[(user, label)] = route([q["sql"] for q in queries])
        print(f"\nbig company's domain: {big_domain!r}; {args.requests} requests per cell")
        print(f"{'case':28}" + "".join(f"{u:>26}" for u in USERS))
        for label, _ in cases(big_domain):
            cells = []
            for user in USERS:
                ms = sorted(times[(user, label)])
                p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
                cells.append(
                    f"{statistics.median(ms):7.1f} /{p95:7.1f} {routes[(user, label)]:>8}"
                )
            print(f"{label:28}" + "".join(f"{c:>26}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
