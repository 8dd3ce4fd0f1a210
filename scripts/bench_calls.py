"""Python work per page, counted rather than timed: cProfile's function calls per request.

    .venv/bin/python scripts/bench_calls.py --database-url URL          # a seed_scale database
    .venv/bin/python scripts/bench_calls.py --database-url URL --user manager01 /contacts/

Why: on a shared 2-core host the wall time of a page drifts by as much as a change to it
(docs/benchmarks.md: the same loop of 3M additions took 209 to 387 ms within an hour), while
the number of Python function calls a request makes barely moves from run to run. So a change
meant to cut Python (fewer ORM compilations, cheaper templates) is measured here, old and new
code alike (run it from a worktree of the old commit against the same database), and its
effect on time is then checked in bench_pages.

What it does: signs in as `--user` (a seed_scale account, force_login, no HTTP) and requests
each page with Django's test client, DEBUG off: `--warmup` untimed requests, then `--requests`
timed by the process's CPU clock (what the host's other load disturbs least), then
`--profiled` requests under cProfile, whose call count per request it prints. Without URLs it
takes bench_pages' pages: the contacts list, a company of the user's with many contacts and
seed_scale's big company, the board, the dashboard, the three searches, new leads, the task
and document lists, my tasks and the new-contact form.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchlib.database import django_database  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("urls", nargs="*", help="pages to count (default: bench_pages' set)")
    parser.add_argument("--database-url", required=True, help="a seed_scale database")
    parser.add_argument("--user", default="rep01", help="a seed_scale account's name")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--requests", type=int, default=15, help="requests timed by CPU clock")
    parser.add_argument("--profiled", type=int, default=3, help="requests counted by cProfile")
    parser.add_argument(
        "--top", type=int, default=0, help="also print each page's N costliest functions"
    )
    parser.add_argument(
        "--sort",
        default="cumulative",
        choices=("cumulative", "tottime", "calls"),
        help="the order of --top: with callees (cumulative) or own time (tottime)",
    )
    args = parser.parse_args(argv)
    if min(args.requests, args.profiled) < 1 or args.warmup < 0:
        parser.error("--requests and --profiled must be 1 or more, --warmup 0+")
    return args


def default_urls(user: object) -> list[str]:
    from django.db.models import Count

    from crm import scale
    from crm.models import Company

    company = (
        Company.objects.filter(owner=user)
        .exclude(pk=scale.BIG_COMPANY_ID)
        .annotate(n=Count("contacts"))
        .order_by("-n", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    urls = ["/contacts/"]
    if company is not None:
        urls.append(f"/companies/{company}/")
    if Company.objects.filter(pk=scale.BIG_COMPANY_ID).exists():
        urls.append(f"/companies/{scale.BIG_COMPANY_ID}/")
    return [
        *urls,
        "/deals/board/",
        "/",
        "/search/?q=John+Smith",
        "/search/?q=joh",
        "/search/?q=Jonh+Smiht",
        "/leads/?status=new",
        "/tasks/",
        "/documents/",
        "/tasks/mine/",
        "/contacts/new/",
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("MINICRM_ENV", "development")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    with django_database(args.database_url):
        from django.test import Client

        from accounts.models import User
        from crm import scale

        user = User.objects.get(email=f"{args.user}@{scale.SCALE_DOMAIN}")
        client = Client()
        client.force_login(user)
        print(f"{'page':60} {'calls/request':>14} {'CPU p50 ms':>11} {'CPU min ms':>11}")
        for url in args.urls or default_urls(user):
            for _ in range(args.warmup):
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
            cpu = []
            for _ in range(args.requests):
                start = time.process_time()
                client.get(url)
                cpu.append((time.process_time() - start) * 1000)
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.profiled):
                client.get(url)
            profile.disable()
            calls = pstats.Stats(profile).total_calls / args.profiled
            print(f"{url[:60]:60} {calls:14,.0f} {statistics.median(cpu):11.1f} {min(cpu):11.1f}")
            if args.top:
                # Totals over the --profiled requests, under cProfile (about twice as slow).
                stats = pstats.Stats(profile, stream=sys.stdout)
                stats.sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
