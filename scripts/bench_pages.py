"""Issue #8's page benchmark: the main pages timed over HTTP on the scale dataset.

    .venv/bin/python scripts/bench_pages.py                        # 1M contacts (~3 min seed)
    .venv/bin/python scripts/bench_pages.py --contacts 20000       # a quick run
    .venv/bin/python scripts/bench_pages.py --requests 50 --json benchmarks/results/pages.json

What it does:
1. a migrated scratch database (config.localdb.scratch_django(): a throwaway embedded
   PostgreSQL without DATABASE_URL, a scratch database on that server with it), filled by
   `manage.py seed_scale --contacts N --seed S` (crm/scale);
2. gunicorn (2 threaded workers of 4 threads, as in production; config.wsgi) on 127.0.0.1 and
   a free port, DEBUG=false, waited for on /healthz and always stopped at the end;
3. signs in through the real allauth form (/accounts/login/, CSRF token from the form) with
   urllib and a cookie jar, as a sales rep (rep01@) and a manager (manager01@);
4. per page and user: warm-up requests, then N timed requests, by default in N rounds of one
   request to every page as every user, in a seeded shuffled order (--order interleaved; the
   host's speed drifts 20-40% within minutes, and timed back to back a slow minute fell on a
   few pages only): p50 / p95 / p99 in ms of the server's own time, from the Server-Timing
   header minicrm sends (config/timing.py; issue #8's targets are server time), and the
   client's loopback wall time beside it; any non-200 answer or failed connection is counted
   as an error; requests/s is one client's back to back, from its own wall time (for the CSV
   export, with its pause);
5. query hygiene, in-process with django.test.Client: the SQL queries per page, and
   EXPLAIN (ANALYZE, FORMAT JSON) of each SELECT: sequential scans of tables whose
   pg_class.reltuples is over 10,000, and the slowest query with its plan;
6. prints a table and writes JSON (default benchmarks/results/pages.json).

CSV export start: the time until the client holds the first 4 KB of the streamed file.
Targets (issue #8): p95 under 50 ms per page, dashboard and board under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchlib.client import (  # noqa: E402 (after the path is set)
    DEEP_PAGE,
    Browser,
    Page,
    Sampler,
    Timing,
    deep_page_url,
    measure,
    measure_interleaved,
)
from scripts.benchlib.database import django_database  # noqa: E402
from scripts.benchlib.hygiene import Hygiene, hygiene  # noqa: E402
from scripts.benchlib.server import gunicorn  # noqa: E402

DEFAULT_JSON = ROOT / "benchmarks" / "results" / "pages.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=1_000_000, help="scale dataset size")
    parser.add_argument("--seed", type=int, default=1, help="seed_scale's random seed")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per page first")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds at most per page and user (warm-up included); at least 5 timed requests",
    )
    parser.add_argument(
        "--order",
        choices=("interleaved", "grouped"),
        default="interleaved",
        help="interleaved: every page and user once a round, N rounds (a slow minute of the "
        "host falls on all pages alike); grouped: each page's requests back to back, as "
        "before 2026-12-03 session 13",
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument(
        "--database-url",
        help="an already seeded database (seed_scale) to time instead of seeding a scratch one: "
        "nothing is seeded or dropped, for iterating on a fix",
    )
    args = parser.parse_args(argv)
    if args.contacts < 1 or args.requests < 1 or args.warmup < 0 or args.workers < 1:
        parser.error("--contacts, --requests and --workers must be 1 or more, --warmup 0+")
    return args


# ---------------------------------------------------------------- data


def fixtures() -> dict[str, Any]:
    """Who signs in, and the ids the page URLs need, from the freshly seeded data."""
    from django.db.models import Count

    from accounts.models import User
    from crm import scale
    from crm.models import Company, Contact

    rep = User.objects.get(email=f"rep01@{scale.SCALE_DOMAIN}")
    manager = User.objects.get(email=f"manager01@{scale.SCALE_DOMAIN}")
    # A company both users may see (rep01 owns it; manager01 leads rep01's team) with the most
    # related rows of its owner's companies: its panels have something to show. The big
    # company (also rep01's) is left out: it is a case of its own.
    company = (
        Company.objects.filter(owner=rep)
        .exclude(pk=scale.BIG_COMPANY_ID)
        .annotate(n=Count("contacts"))
        .order_by("-n", "pk")
        .values("pk", "n")
        .first()
    )
    if company is None:
        raise SystemExit("rep01 owns no company: cannot benchmark company detail")
    # Tens of thousands of contacts at 1M (seed_scale's big company, rep01's): panels that
    # count or sort every related row show here. None in a database seeded before it existed.
    big = Company.objects.filter(pk=scale.BIG_COMPANY_ID).values("pk").first()
    if big is not None:
        big["n"] = Contact.objects.filter(company_id=big["pk"]).count()
    return {"rep": rep, "manager": manager, "company": company, "big_company": big}


def pages(fx: dict[str, Any]) -> list[Page]:
    rep_id = fx["rep"].pk
    listed = [
        Page("contacts.default", "/contacts/"),
        Page("contacts.owner", f"/contacts/?owner={rep_id}"),
        Page("contacts.cf_segment", "/contacts/?cf_segment=SMB"),
        Page(f"contacts.page{DEEP_PAGE}", "/contacts/"),  # URL found by following "next"
        Page("company.detail", f"/companies/{fx['company']['pk']}/"),
    ]
    if fx["big_company"] is not None:
        listed.append(Page("company.detail_big", f"/companies/{fx['big_company']['pk']}/"))
    listed += [
        Page("deals.board", "/deals/board/"),
        Page("dashboard", "/"),
    ]
    # Typos: "Jonh Smiht" (rare trigrams, the case) and a typo in a common name,
    # whose trigrams hundreds of thousands of texts share ("mary jonson": 78-130 ms a page at
    # 1M contacts before the word dictionary, session 15).
    searches = (
        ("exact", "John Smith"),
        ("prefix", "joh"),
        ("typos", "Jonh Smiht"),
        ("typos_common", "mary jonson"),
    )
    for label, q in searches:
        url = "/search/?" + urllib.parse.urlencode({"q": q})
        listed.append(Page(f"search.{label}", url))
        listed.append(Page(f"search.{label}.hx", url, htmx=True))
    listed.append(Page("leads.status_new", "/leads/?status=new"))
    # Beyond the list: the task and document lists (rows visible through the record
    # they hang off; 40 s a page for a manager until that was fixed) and the contact type-ahead
    # every related-record field uses.
    listed.append(Page("tasks.list", "/tasks/"))
    listed.append(Page("documents.list", "/documents/"))
    listed.append(Page("autocomplete.contact", "/autocomplete/contact/?q=john", htmx=True))
    # CSV export start: the first 4 KB of the streamed file (its first 100 rows are one query).
    listed.append(Page("contacts.export", "/contacts/export/", first_byte=True))
    return listed


# ---------------------------------------------------------------- report


def print_report(timings: list[Timing], checks: list[Hygiene], contacts: int) -> None:
    source = {t.source for t in timings}
    print(f"\nPages at {contacts:,} contacts, time = {', '.join(sorted(source))}", end="")
    print(
        " (no Server-Timing header: loopback wall time from the client)"
        if source == {"client wall"}
        else " (server time; 'wall95' = the client's loopback p95)"
    )
    by_key = {(h.user, h.page): h for h in checks}
    head = (
        f"{'user':8} {'page':22} {'n':>3} {'p50':>8} {'p95':>8} {'p99':>8} "
        f"{'wall95':>7} {'req/s':>7} {'err':>4} "
        f"{'target':>6} {'ok':>4} {'SQL#':>5} {'SQLms':>6} {'Pyms':>6} seq-scanned big tables"
    )
    print(head)
    print("-" * len(head))
    for t in timings:
        h = by_key.get((t.user, t.page))
        seq = ", ".join(h.seq_scans) if h and h.seq_scans else "none"
        print(
            f"{t.user:8} {t.page:22} {t.requests:3d} "
            f"{t.p50_ms:8.1f} {t.p95_ms:8.1f} {t.p99_ms:8.1f} "
            f"{t.client_p95_ms:7.1f} {t.rps:7.1f} {t.errors:4d} "
            f"{t.target_ms:6.0f} {'MISS' if t.misses else 'ok':>4} "
            f"{h.queries if h else '?':>5} {h.sql_ms if h else '?':>6} "
            f"{h.python_ms if h else '?':>6} {seq}"
        )
        for sample in t.error_samples:
            print(f"{'':31}error: {sample}")
    misses = [t for t in timings if t.misses]
    print(f"\n{len(misses)} of {len(timings)} page/user pairs miss their p95 target.")
    print("contacts.export = time to the first 4 KB of the streamed CSV, on the client.")
    print(
        "SQL# = queries per page, SQLms = their EXPLAIN ANALYZE time, Pyms = the rest of the "
        "in-process page time (Python, templates, driver): one warm in-process request."
    )
    print("seq-scanned = Seq Scan nodes that ran (loops > 0) on tables with reltuples > 10,000.")
    for h in checks:
        if h.seq_scans_not_run:
            print(f"  planned but not run ({h.user} {h.page}): {', '.join(h.seq_scans_not_run)}")
    print("\nWhere the time goes, for pages that miss or seq-scan (slowest query and its plan):")
    missing = {(t.user, t.page) for t in timings if t.misses}
    for h in checks:
        if (h.user, h.page) not in missing and not h.seq_scans:
            continue
        print(
            f"\n[{h.user} {h.page}] status {h.status}, {h.queries} queries, page {h.page_ms} ms "
            f"in-process, SQL {h.sql_ms} ms; slowest {h.slowest_ms} ms:"
        )
        if h.slowest_sql:
            print("  SQL: " + " ".join(h.slowest_sql.split())[:600])
            for line in h.slowest_plan:
                print("    " + line)
        if h.seq_scan_sql and h.seq_scan_sql != h.slowest_sql:
            print("  seq-scanning query: " + " ".join(h.seq_scan_sql.split())[:600])
            for line in h.seq_scan_plan:
                print("    " + line)


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def _progress(timing: Timing) -> None:
    print(
        f"  {timing.user:8} {timing.page:22} p95 {timing.p95_ms:8.1f} ms errors {timing.errors}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def _on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # `kill`: stop gunicorn and remove the scratch database too

    signal.signal(signal.SIGTERM, _on_term)
    os.environ.setdefault("MINICRM_ENV", "development")
    os.environ["DEBUG"] = "false"  # in-process hygiene runs like the server
    with django_database(args.database_url):
        from django.core.management import call_command

        from crm import scale

        t0 = time.perf_counter()
        if not args.database_url:
            call_command("seed_scale", "--contacts", str(args.contacts), "--seed", str(args.seed))
        else:
            from crm.models import Contact

            args.contacts = Contact.objects.count()  # the report's label, once
        seed_seconds = time.perf_counter() - t0
        fx = fixtures()
        print(f"company for detail: {fx['company']['pk']} ({fx['company']['n']} contacts)")
        if fx["big_company"] is not None:
            big = fx["big_company"]
            print(f"big company for detail: {big['pk']} ({big['n']} contacts)")
        page_list = pages(fx)
        users = {"rep": fx["rep"], "manager": fx["manager"]}
        timings: list[Timing] = []
        deep_urls: dict[str, str] = {}
        with gunicorn(os.environ["DATABASE_URL"], args.workers) as base:
            samplers: list[Sampler] = []
            for label, user in users.items():
                browser = Browser(base)
                browser.login(user.email, scale.SCALE_PASSWORD)
                print(f"signed in as {user.email}", flush=True)
                deep_urls[label] = deep_page_url(browser, "/contacts/", DEEP_PAGE - 1)
                for page in page_list:
                    url = deep_urls[label] if page.name.startswith("contacts.page") else page.url
                    timed = Page(page.name, url, page.htmx, page.first_byte)
                    if args.order == "grouped":
                        timing = measure(
                            browser, label, timed, args.warmup, args.requests, args.budget
                        )
                        timings.append(timing)
                        _progress(timing)
                    else:
                        samplers.append(Sampler(browser, label, timed))
            if samplers:
                print(
                    f"{len(samplers)} pages x users, {args.requests} interleaved rounds ...",
                    flush=True,
                )
                measure_interleaved(samplers, args.warmup, args.requests, args.budget)
                for sampler in samplers:
                    timings.append(sampler.timing())
                    _progress(timings[-1])
        print("Query hygiene (in-process) ...", flush=True)
        checks = hygiene(page_list, users, deep_urls)
        print_report(timings, checks, args.contacts)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "contacts": args.contacts,
                    "seed": args.seed,
                    "seed_seconds": round(seed_seconds, 1),
                    "requests": args.requests,
                    "warmup": args.warmup,
                    "workers": args.workers,
                    "machine": machine(),
                    "deep_page_urls": deep_urls,
                    "budget_seconds": args.budget,
                    "order": args.order,
                    "time_source": sorted({t.source for t in timings}),
                    "timings": [asdict(t) | {"misses": t.misses} for t in timings],
                    "hygiene": [asdict(h) | {"python_ms": h.python_ms} for h in checks],
                },
                indent=2,
            )
            + "\n"
        )
        print(f"\nJSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
