"""Issue #9's CSV import benchmark: `manage.py import_csv` on a generated contacts CSV of
100,000 rows, a create pass and then an upsert pass with 10% of the rows changed.

    .venv/bin/python scripts/bench_csv_import.py                       # 100,000 rows
    .venv/bin/python scripts/bench_csv_import.py --rows 10000          # a quick run
    .venv/bin/python scripts/bench_csv_import.py --on-error all        # dry run, then import
    .venv/bin/python scripts/bench_csv_import.py --analyze             # planner statistics
    .venv/bin/python scripts/bench_csv_import.py --profile /tmp/csv    # + cProfile of each pass

What it does:
1. Django on a migrated scratch database (config.localdb.scratch_django(): a throwaway embedded
   PostgreSQL without DATABASE_URL, a scratch database on that server with it, dropped
   afterwards), MEDIA_ROOT in a temporary folder, DEBUG off as in production;
2. seeds a team, the importing sales rep, 2,000 companies owned by them and two contact custom
   fields (Region, a choice; Lead score, a number);
3. writes the CSV with a seeded generator (pools of Faker names, drawn with `random`: a
   million Faker calls would take longer than the import): first and last name, a unique email,
   office and mobile phone, company (60% a seeded company by name, 5% by its domain, 10% one of
   500 companies that do not exist yet, created through --create-related, the rest empty), job
   title, city, country, one to three tags, region, lead score;
4. times `call_command("import_csv", "contact", FILE, ...)` in this process for the create
   pass (mode upsert, match on email, --create-related), then for an upsert pass of the same
   file with 10% of the rows changed (job title, phone, tags and lead score) -- 90% unchanged;
   each pass split into its dry run ("Checking", with --on-error all) and its writing pass
   ("Importing"), and the engine's time split into its steps (parse, decide and its parts,
   write, record) by wrapping them, which costs far less than cProfile;
5. prints and writes as JSON (--json): rows/s, wall time, this process's CPU time, the
   PostgreSQL backend's CPU time (/proc/<pid>/schedstat), peak RSS (ru_maxrss) and the RSS
   sampled during each pass, the load average, and the machine.

The throwaway cluster runs with autovacuum off, so without --analyze the tables the import
fills have no planner statistics, as on a server in the minute before autovacuum first looks
at them: the per-chunk lookups then scan instead of using their indexes (see
docs/benchmarks.md).

Target (issue #9): 100,000 contacts imported in under 60 seconds on 2 cores via the command,
without holding the whole file in memory.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchlib.csv_contacts import (  # noqa: E402 (after the path is set)
    USER_EMAIL,
    People,
    seed,
    write_files,
)
from scripts.benchlib.database import BackendClock, django_database  # noqa: E402
from scripts.benchlib.mongo_report import machine  # noqa: E402
from scripts.benchlib.server import RssSampler  # noqa: E402

DEFAULT_JSON = ROOT / "benchmarks" / "results" / "csv_import.json"
# The run's counters as the command prints them.
COUNTS = [("created", "created"), ("updated", "updated"), ("unchanged", "unchanged"),
          ("skipped", "skipped"), ("rejected", "failed")]  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="default %(default)s")
    parser.add_argument("--seed", type=int, default=0, help="the generator's seed")
    parser.add_argument(
        "--on-error", choices=["all", "skip"], default="skip", help="import_csv's (default skip)"
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="ANALYZE after seeding and between the passes, as autovacuum would on a server "
        "(the throwaway cluster runs with autovacuum off: no planner statistics otherwise)",
    )
    parser.add_argument("--changed", type=float, default=0.10, help="share changed, upsert pass")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of each pass here")
    parser.add_argument(
        "--database-url", help="an empty, migrated, throwaway database instead of a scratch one"
    )
    args = parser.parse_args(argv)
    if args.rows < 1 or not 0 <= args.changed <= 1:
        parser.error("--rows must be 1 or more and --changed between 0 and 1")
    return args


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def source_version() -> str:
    """The commit measured, "+" when the working tree differs from it."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "-uno"], capture_output=True, text=True)
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "")


def setting(name: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        return cursor.fetchone()[0]


# ---------------------------------------------------------------- the passes


@contextlib.contextmanager
def timed_phases(seconds: dict[str, float]) -> Iterator[None]:
    """The wall time of the command's dry run ("Checking") and writing pass ("Importing"),
    by wrapping its Command._advance for the duration of the block."""
    from crm.management.commands.import_csv import Command

    original = Command._advance

    def advance(self: Any, user: Any, run: Any, label: str) -> Any:
        start = time.perf_counter()
        try:
            return original(self, user, run, label)
        finally:
            seconds[label] = seconds.get(label, 0.0) + time.perf_counter() - start

    Command._advance = advance
    try:
        yield
    finally:
        Command._advance = original


# The engine's steps, timed by wrapping them (cProfile doubles the Python time; this does
# not). Nested: parse and decide are parts of a step; matches, links, build are parts of decide.
ENGINE_STEPS = {
    "crm.imports.engine.Importer": [
        "step", "_parse", "_decide", "_duplicates", "_matches", "_links", "_write", "_record",
    ],
    "crm.imports.rows.Preparer": ["build"],
    "crm.imports.engine.permissions": ["editable_ids"],
}  # fmt: skip


@contextlib.contextmanager
def timed_engine(seconds: dict[str, float]) -> Iterator[None]:
    import importlib

    patched = []
    for path, names in ENGINE_STEPS.items():
        module, _, attribute = path.rpartition(".")
        owner = getattr(importlib.import_module(module), attribute)
        for name in names:
            original = getattr(owner, name)
            patched.append((owner, name, original))
            setattr(owner, name, _timed(original, name.lstrip("_"), seconds))
    try:
        yield
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def _timed(function: Any, label: str, seconds: dict[str, float]) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[label] = seconds.get(label, 0.0) + time.perf_counter() - start

    return timed


def run_pass(path: Path, on_error: str, profile: Path | None) -> dict[str, Any]:
    from django.core.management import call_command

    from crm.models import ImportRun

    phases: dict[str, float] = {}
    engine: dict[str, float] = {}
    clock = BackendClock()
    memory = RssSampler(os.getpid(), interval=0.25).start()
    out = io.StringIO()
    profiler = cProfile.Profile() if profile else None
    backend_start, cpu_start = clock.read(), time.process_time()
    start = time.perf_counter()
    exit_code = 0
    with timed_phases(phases), timed_engine(engine):
        if profiler:
            profiler.enable()
        try:
            call_command(
                "import_csv", "contact", str(path), user=USER_EMAIL, on_error=on_error,
                create_related=True, quiet=True, stdout=out,
            )  # fmt: skip
        except SystemExit as stop:
            exit_code = int(stop.code or 0)
        finally:
            if profiler:
                profiler.disable()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    backend_end = clock.read()
    memory.stop()
    run = ImportRun.objects.order_by("-created_at").first()
    if profiler:
        profiler.dump_stats(str(profile))
    rss = memory.parent_memory
    rows = run.created + run.updated + run.unchanged + run.skipped + run.failed
    return {
        "file": path.name,
        "file_bytes": path.stat().st_size,
        "exit_code": exit_code,
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds) if seconds else None,
        "phases": {label: round(s, 2) for label, s in phases.items()},
        "counts": {label: getattr(run, field) for label, field in COUNTS},
        "engine_seconds": {label: round(s, 2) for label, s in engine.items()},
        "client_cpu_seconds": round(cpu, 2),
        "backend_cpu_seconds": (
            round(backend_end - backend_start, 2)
            if backend_start is not None and backend_end is not None
            else None
        ),
        "rss_mib": {
            "start": round(rss.first_kb / 1024) if rss else None,
            "max": round(rss.max_kb / 1024) if rss else None,
        },
        "output_tail": out.getvalue().splitlines()[-12:],
    }


def print_pass(name: str, result: dict[str, Any]) -> None:
    phases = ", ".join(f"{label.lower()} {s:.1f} s" for label, s in result["phases"].items())
    counts = ", ".join(f"{n:,} {label}" for label, n in result["counts"].items() if n)
    backend = result["backend_cpu_seconds"]
    print(
        f"{name}: {result['rows']:,} rows in {result['seconds']:.1f} s "
        f"= {result['rows_per_second']:,} rows/s ({phases}); {counts}; "
        f"exit {result['exit_code']}\n"
        f"  CPU: {result['client_cpu_seconds']:.1f} s in Python, "
        f"{'-' if backend is None else f'{backend:.1f}'} s in the PostgreSQL backend; "
        f"RSS {result['rss_mib']['start']} -> {result['rss_mib']['max']} MiB\n"
        f"  engine (both passes, nested): "
        + ", ".join(f"{label} {s:.1f} s" for label, s in result["engine_seconds"].items()),
        flush=True,
    )


def print_profile(path: Path, limit: int = 25) -> None:
    stream = io.StringIO()
    stats = pstats.Stats(str(path), stream=stream)
    stats.sort_stats("cumulative").print_stats(limit)
    print(stream.getvalue())


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def _on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # `kill`: remove the scratch database and the files too

    signal.signal(signal.SIGTERM, _on_term)
    workdir = Path(tempfile.mkdtemp(prefix="minicrm-bench-csv-"))
    os.environ.setdefault("MINICRM_ENV", "development")
    os.environ["DEBUG"] = "false"  # as in production: no SQL kept per statement
    os.environ["MEDIA_ROOT"] = str(workdir / "media")  # the command stores its copy there
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        with django_database(args.database_url):
            start = time.perf_counter()
            people = People(args.seed)
            create, upsert = write_files(people, args.rows, args.changed, workdir)
            generate_s = time.perf_counter() - start
            print(
                f"CSV: {args.rows:,} rows, {create.stat().st_size / 2**20:.1f} MiB, "
                f"written in {generate_s:.1f} s",
                flush=True,
            )
            seed(people)
            profiles = {
                name: args.profile.with_name(f"{args.profile.name}-{name}.prof")
                for name in ("create", "upsert")
            } if args.profile else {}  # fmt: skip
            results = {}
            for name, path in (("create", create), ("upsert", upsert)):
                if args.analyze:
                    analyze()
                print(f"Importing ({name}, --on-error {args.on_error}) ...", flush=True)
                results[name] = run_pass(path, args.on_error, profiles.get(name))
                print_pass(name, results[name])
            report = {
                "rows": args.rows,
                "seed": args.seed,
                "source": source_version(),
                "on_error": args.on_error,
                "analyze": args.analyze,
                "autovacuum": setting("autovacuum"),
                "changed": args.changed,
                "generate_seconds": round(generate_s, 1),
                "passes": results,
                "peak_rss_mib_ru_maxrss": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                ),
                "machine": machine(),
            }
            print(f"Peak RSS of this process (ru_maxrss): {report['peak_rss_mib_ru_maxrss']} MiB")
            for name, path in profiles.items():
                print(f"\ncProfile of the {name} pass ({path}), by cumulative time:")
                print_profile(path)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
            print(f"JSON written to {args.json}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
