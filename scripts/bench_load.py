"""Issue #8's load benchmark: 50 simulated users on the scale dataset for 60 s (locust, headless).

    .venv/bin/pip install -e '.[bench]'                        # locust, once
    .venv/bin/python scripts/bench_load.py                     # 1M contacts (~3 min seed)
    .venv/bin/python scripts/bench_load.py --contacts 20000    # a quick run
    .venv/bin/python scripts/bench_load.py --database-url postgres://...  # already seeded

What it does:
1. without --database-url, a migrated scratch database (config.localdb.scratch_django()) filled
   by `manage.py seed_scale --contacts N --seed S`, dropped at the end; with --database-url, a
   database seed_scale already filled, neither seeded nor dropped (the run only reads, apart
   from sign-ins: sessions, last_login and the rate-limit cache);
2. gunicorn (2 threaded workers of 4 threads, as in production; DEBUG=false) on 127.0.0.1 and
   a free port, always stopped;
3. signs each of the 19 scale accounts (15 reps, 4 managers) in through the real allauth form
   and finds what its pages need (company links, owners, the deep list page by following
   "next"), before the clock starts (scripts/benchlib/locustfile.py says why);
4. `locust --headless` with scripts/benchlib/locustfile.py: N users (default 50) spawned at
   --spawn-rate, each on one account's session in turn, mixing the pages bench_pages times
   with a think time between requests (default 1-3 s: a busy user clicks every 10-30 s, so 50
   users at 1-3 s stand for several hundred real ones, and on 2 cores they keep the 2
   workers busy; `--think 5 15` is a lighter load); any answer but a 200 (a redirect to the
   sign-in page included) is a failure;
5. meanwhile, every second: the RSS (VmRSS) of each gunicorn worker, the load average;
   and the CPU time locust and the workers used (client, server and PostgreSQL share the
   machine's cores);
6. prints a table (per page: requests, failures, client p50 / p95 / p99, req/s, and the
   server's own p50 / p95 and their SQL share from its Server-Timing header) and writes JSON
   (default benchmarks/results/load.json). The client's time includes the wait in gunicorn's
   queue when both workers are busy; the server's does not.

Targets (issue #8): no failed request; each gunicorn worker under 250 MB RSS throughout.
The exit code is 0 when both hold, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchlib.client import DEEP_PAGE  # noqa: E402 (after the path is set)
from scripts.benchlib.load import (  # noqa: E402
    locust_argv,
    locust_command,
    prepare_sessions,
    read_csv,
    running,
)
from scripts.benchlib.load_report import print_report, summarise  # noqa: E402
from scripts.benchlib.server import (  # noqa: E402
    RssSampler,
    Server,
    child_pids,
    cpu_seconds,
    gunicorn_server,
)

DEFAULT_JSON = ROOT / "benchmarks" / "results" / "load.json"
RSS_LIMIT_MB = 250.0
# Bounds on what one run may ask for: this is a benchmark on a shared 2-core machine.
MAX_USERS = 500
MAX_RUN_SECONDS = 1800
# Lines of the gunicorn log worth showing when requests fail.
LOG_PROBLEM = re.compile(r"ERROR|CRITICAL|Traceback|WORKER TIMEOUT|Exception|Error:")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=1_000_000, help="scale dataset size")
    parser.add_argument("--seed", type=int, default=1, help="seed_scale's random seed")
    parser.add_argument(
        "--database-url",
        help="a database seed_scale already filled: used as it is, neither seeded nor dropped",
    )
    parser.add_argument("--users", type=int, default=50, help="simulated users")
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="users started per second")
    parser.add_argument("--run-time", type=int, default=60, help="seconds of load")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(1.0, 3.0),
        metavar=("MIN", "MAX"),
        help="seconds each user waits between two requests (uniform between MIN and MAX)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--rss-limit-mb", type=float, default=RSS_LIMIT_MB)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    args = parser.parse_args(argv)
    if args.contacts < 1 or args.workers < 1 or args.timeout <= 0:
        parser.error("--contacts and --workers must be 1 or more, --timeout above 0")
    if not 1 <= args.users <= MAX_USERS:
        parser.error(f"--users must be between 1 and {MAX_USERS}")
    if not 1 <= args.run_time <= MAX_RUN_SECONDS:
        parser.error(f"--run-time must be between 1 and {MAX_RUN_SECONDS} seconds")
    if args.spawn_rate <= 0:
        parser.error("--spawn-rate must be above 0")
    if not 0 <= args.think[0] <= args.think[1]:
        parser.error("--think needs 0 <= MIN <= MAX")
    return args


# ---------------------------------------------------------------- the run


def run_load(args: argparse.Namespace, server: Server, work: Path) -> dict[str, Any]:
    """locust against `server` while the workers' RSS is sampled; its raw results."""
    # From the start: memory the preparation leaves behind counts too.
    sampler = RssSampler(server.pid).start()
    try:
        t0 = time.perf_counter()
        sessions = prepare_sessions(server.base, args.workers)
        prepare_s = time.perf_counter() - t0
        print(f"{len(sessions)} accounts signed in and prepared in {prepare_s:.1f} s", flush=True)
        sessions_file = work / "sessions.json"
        sessions_file.write_text(json.dumps(sessions))
        prefix = work / "locust"
        timing_file = work / "server_timing.json"
        env = {
            **os.environ,
            "BENCH_LOAD_SESSIONS": str(sessions_file),
            "BENCH_LOAD_DEEP_PAGE": str(DEEP_PAGE),
            "BENCH_LOAD_WAIT": f"{args.think[0]},{args.think[1]}",
            "BENCH_LOAD_TIMEOUT": str(args.timeout),
            "BENCH_LOAD_SERVER_TIMING": str(timing_file),
        }
        stop_timeout = int(args.timeout) + 5
        cmd = locust_argv(args, server.base, prefix, stop_timeout)
        print(
            f"locust: {args.users} users at {args.spawn_rate}/s for {args.run_time} s, "
            f"think {args.think[0]}-{args.think[1]} s, on {server.base}",
            flush=True,
        )
        load_before = os.getloadavg()
        loads: list[float] = []
        locust_cpu = 0.0
        workers_cpu = _workers_cpu(server.pid)
        started = time.monotonic()
        # locust stops itself after --run-time; this bound is for a locust that hangs.
        deadline = started + args.run_time + stop_timeout + 60
        with running(cmd, env, work / "locust.log") as proc:
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"locust still running after {deadline - started:.0f} s")
                loads.append(os.getloadavg()[0])
                locust_cpu = cpu_seconds(proc.pid) or locust_cpu
                time.sleep(1.0)
            returncode = proc.returncode
        # What the workers used during the load: how much of the 2 cores they had.
        workers_cpu = {
            pid: round(cpu - workers_cpu.get(pid, 0.0), 1)
            for pid, cpu in _workers_cpu(server.pid).items()
        }
    finally:
        sampler.stop()
    elapsed = time.monotonic() - started
    stats = prefix.with_name("locust_stats.csv")
    if not stats.exists():
        log = (work / "locust.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"locust wrote no statistics (exit {returncode}):\n{log}")
    return {
        "returncode": returncode,
        "elapsed_s": round(elapsed, 1),
        "stats": read_csv(stats),
        "failures": read_csv(prefix.with_name("locust_failures.csv")),
        "server_ms": json.loads(timing_file.read_text()) if timing_file.exists() else {},
        "memory": sampler,
        "loadavg": loads,
        "loadavg_before": [round(x, 2) for x in load_before],
        "locust_cpu_s": round(locust_cpu, 1),
        "workers_cpu_s": workers_cpu,
        "accounts": len(sessions),
        "prepare_s": round(prepare_s, 1),
        "log_problems": [
            line for line in server.log_tail(200_000).splitlines() if LOG_PROBLEM.search(line)
        ],
    }


def _workers_cpu(master: int) -> dict[int, float]:
    return {pid: cpu for pid in child_pids(master) if (cpu := cpu_seconds(pid)) is not None}


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    locust_command()  # before a 3-minute seed, not after it

    def _on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # `kill`: stop locust, gunicorn and the scratch database too

    signal.signal(signal.SIGTERM, _on_term)
    os.environ.setdefault("MINICRM_ENV", "development")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    with contextlib.ExitStack() as stack:
        if args.database_url:
            os.environ["DATABASE_URL"] = args.database_url
            import django

            django.setup()
        else:
            from config.localdb import scratch_django

            stack.enter_context(scratch_django())
            from django.core.management import call_command

            t0 = time.perf_counter()
            call_command("seed_scale", "--contacts", str(args.contacts), "--seed", str(args.seed))
            print(f"seeded in {time.perf_counter() - t0:.0f} s", flush=True)
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-load-")))
        server = stack.enter_context(gunicorn_server(os.environ["DATABASE_URL"], args.workers))
        raw = run_load(args, server, work)
        report = summarise(raw, args)
    print_report(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON written to {args.json}")
    return 0 if all(report["ok"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
