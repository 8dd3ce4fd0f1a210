"""Two commits' page times, interleaved request by request in two live processes.

    git worktree add /tmp/base <old commit>
    .venv/bin/python scripts/bench_ab.py --database-url URL --base /tmp/base
    .venv/bin/python scripts/bench_ab.py --database-url URL --base /tmp/base --user manager01 \
        /tasks/ /contacts/

Why: on a shared 2-core host the speed drifts by 20-40% within minutes (docs/benchmarks.md),
so two bench_pages runs a few minutes apart compare the host as much as the code. Here one
Python process runs the old commit (`--base`, a worktree of it) and one this checkout, both
on the same database, both warmed, and the requests alternate between them in small bursts
(the order flipping each round): drift reaches both alike. bench_calls counts what a change
does; this says what it buys in time.

What it does: each process signs in as `--user` (a seed_scale account, force_login) and serves
"time URL N" from a pipe: N requests with Django's test client, DEBUG off, each timed by the
wall clock (perf_counter: SQL waits included, as the server-timing header counts them). After
`--warmup` requests each, `--rounds` bursts of `--requests` per process and page. Prints per
page the median and p90 of each side and the median difference. Without URLs it takes
bench_calls' pages. The in-process time has no HTTP or gunicorn in it: compare with
bench_pages for the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("urls", nargs="*", help="pages to time (default: bench_calls' set)")
    parser.add_argument("--database-url", required=True, help="a seed_scale database")
    parser.add_argument("--base", type=Path, help="a checkout of the commit to compare with")
    parser.add_argument("--user", default="rep01", help="a seed_scale account's name")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--requests", type=int, default=3, help="requests per burst")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # a child: its checkout
    args = parser.parse_args(argv)
    if not args.serve and not args.base:
        parser.error("--base is required")
    if min(args.rounds, args.requests) < 1 or args.warmup < 0:
        parser.error("--rounds and --requests must be 1 or more, --warmup 0+")
    return args


def serve(args: argparse.Namespace) -> int:
    """A child: Django from the checkout `args.serve`, answering requests from stdin."""
    root = str(args.serve.resolve())
    sys.path[:] = [root, *(p for p in sys.path if Path(p or ".").resolve() != ROOT)]
    os.chdir(root)
    os.environ.update(DATABASE_URL=args.database_url, DEBUG="false")
    os.environ.setdefault("MINICRM_ENV", "development")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.test import Client

    from accounts.models import User
    from crm import scale

    urls = None
    if not args.urls:
        sys.path.insert(1, str(ROOT))  # bench_calls' default pages, from this checkout
        from scripts.bench_calls import default_urls

        urls = default_urls
    client = Client()
    user = User.objects.get(email=f"{args.user}@{scale.SCALE_DOMAIN}")
    client.force_login(user)
    print(json.dumps(urls(user) if urls else args.urls), flush=True)
    for line in sys.stdin:
        url, count = json.loads(line)
        times = []
        for _ in range(count):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url}: status {response.status_code}")
        print(json.dumps(times), flush=True)
    return 0


class _Side:
    def __init__(self, checkout: Path, args: argparse.Namespace) -> None:
        command = [sys.executable, __file__, "--serve", str(checkout)]
        command += ["--database-url", args.database_url, "--user", args.user, *args.urls]
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.urls = json.loads(self.proc.stdout.readline())

    def time(self, url: str, count: int) -> list[float]:
        self.proc.stdin.write(json.dumps([url, count]) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the process timing {url} stopped")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        return serve(args)
    base, head = _Side(args.base, args), _Side(ROOT, args)
    try:
        print(f"base: {args.base}   head: {ROOT}   user: {args.user}")
        print(f"{'page':44} {'base p50/p90':>14} {'head p50/p90':>14} {'head-base':>10}")
        for url in head.urls:
            base.time(url, args.warmup)
            head.time(url, args.warmup)
            old: list[float] = []
            new: list[float] = []
            diffs = []
            for n in range(args.rounds):
                sides = [(base, old), (head, new)]
                for side, into in sides if n % 2 == 0 else sides[::-1]:
                    into.extend(side.time(url, args.requests))
                diffs.append(
                    statistics.median(new[-args.requests :])
                    - statistics.median(old[-args.requests :])
                )
            shown = f"{statistics.median(old):6.1f}/{_p90(old):6.1f} "
            shown += f"{statistics.median(new):6.1f}/{_p90(new):6.1f}"
            print(f"{url[:44]:44} {shown} {statistics.median(diffs):+10.1f}", flush=True)
    finally:
        base.close()
        head.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
