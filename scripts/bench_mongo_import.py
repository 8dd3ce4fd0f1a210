"""Issue #6's import benchmark: migrate_from_mongo on a generated NextCRM dump of about a million
documents, and a plain COPY of the same rows into the same PostgreSQL in the same run.

    .venv/bin/python scripts/bench_mongo_import.py                     # ~1,000,000 documents
    .venv/bin/python scripts/bench_mongo_import.py --contacts 20000    # a quick run
    .venv/bin/python scripts/bench_mongo_import.py --json benchmarks/results/mongo_import.json

What it does:
1. writes a NextCRM-shaped mongodump folder in a temporary directory with
   `migrations_mongo.fakedump.generate_dump()` (every quirk of the schema doc on a small share of
   the documents; sizes proportional to the contacts: accounts ~ contacts/10, leads and deals
   ~ contacts/5, ...). Without `--contacts`, the contacts are chosen so that the dump holds about
   `--documents` (1,000,000) documents; `--dump` reuses a folder written before;
2. a migrated scratch database (config.localdb.scratch_django(): a throwaway embedded PostgreSQL
   without DATABASE_URL, a scratch database on that server with it, dropped afterwards), or
   `--database-url`, an empty migrated database of your own, which this script then fills and
   partly empties (step 4): a throwaway one;
3. times `call_command("migrate_from_mongo", dump=..., quiet=True)`, the command operators run,
   overall and per collection (Importer._collection wrapped), the links phase, and the rest
   (report and error log); documents/s, and where the CPU time went (this process, and the
   PostgreSQL backend read from /proc when the server is local);
4. the baseline: every row the import wrote to the record tables (companies, contacts and their
   notes, leads, deals, contracts, boards, sections, tasks, comments, documents, invoices) and
   their link tables is copied out (COPY TO, binary, into temporary files), those tables are
   emptied (TRUNCATE), and the rows are loaded back with one `COPY ... FROM STDIN (FORMAT BINARY)`
   per table, timed. Same PostgreSQL, same tables, so the same indexes, foreign keys and
   triggers as the import met; the audit triggers see each COPY through the same bulk opt-out
   as the import (audit.bulk: one summary entry per table instead of one per row). Users,
   lookups and stages are not reloaded (a few hundred rows). Row counts are compared before and
   after, so the baseline is known to have loaded exactly the imported rows;
5. prints a table, import time / COPY time per big collection and for the whole import, and
   writes JSON (default benchmarks/results/mongo_import.json).

Django runs with DEBUG off, as in production.

Target (issue #6): at least 20,000 documents/s on 2 cores, and within 3x of the plain COPY.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchlib.database import (  # noqa: E402 (after the path is set)
    BackendClock,
    django_database,
)
from scripts.benchlib.mongo_report import machine, print_report, summarise  # noqa: E402
from scripts.benchlib.server import RssSampler  # noqa: E402

DEFAULT_JSON = ROOT / "benchmarks" / "results" / "mongo_import.json"

# The tables the import writes records to (and what refers to them is found in the catalog).
RECORD_TABLES = (
    "crm_company",
    "crm_contact",
    "crm_lead",
    "crm_deal",
    "crm_contract",
    "crm_board",
    "crm_section",
    "crm_task",
    "crm_taskcomment",
    "crm_note",
    "crm_document",
    "crm_invoice",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--documents",
        type=int,
        default=1_000_000,
        help="about how many documents the generated dump holds (default %(default)s)",
    )
    parser.add_argument(
        "--contacts", type=int, help="generate this many contacts instead (the rest follows)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the generator's seed")
    parser.add_argument("--gzip", action="store_true", help="write .bson.gz files")
    parser.add_argument(
        "--dump", type=Path, help="import this fakedump folder instead of generating one"
    )
    parser.add_argument("--batch-size", type=int, default=2000, help="migrate_from_mongo's")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument(
        "--database-url",
        help="an empty, migrated, throwaway database to use instead of a scratch one (it is "
        "filled, and its record tables emptied and reloaded; nothing is dropped)",
    )
    args = parser.parse_args(argv)
    if args.documents < 1 or (args.contacts is not None and args.contacts < 1):
        parser.error("--documents and --contacts must be 1 or more")
    return args


# ---------------------------------------------------------------- the dump


def contacts_for(documents: int) -> int:
    """The smallest contact count whose dump holds at least `documents` documents (the big
    collections scale with it; the lookups and auxiliary collections add a few dozen)."""
    from migrations_mongo.fakedump import sizes_for

    low, high = 1, max(1, documents)
    while low < high:
        middle = (low + high) // 2
        if sum(sizes_for(middle).values()) >= documents:
            high = middle
        else:
            low = middle + 1
    return low


def make_dump(args: argparse.Namespace, workdir: Path) -> tuple[Path, dict[str, int], float]:
    """The dump folder, its document count per collection, and the seconds it took to write."""
    from migrations_mongo.fakedump import MANIFEST_NAME, generate_dump

    if args.dump:
        manifest = json.loads((args.dump / MANIFEST_NAME).read_text(encoding="utf-8"))
        return args.dump, manifest["counts"], 0.0
    args.contacts = args.contacts or contacts_for(args.documents)
    folder = workdir / "dump" / "nextcrm"
    print(f"Generating a dump with {args.contacts:,} contacts in {folder} ...", flush=True)
    start = time.perf_counter()
    manifest = generate_dump(folder, contacts=args.contacts, seed=args.seed, gz=args.gzip)
    return folder, manifest["counts"], time.perf_counter() - start


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.iterdir() if ".bson" in path.name)


# ---------------------------------------------------------------- the import


@contextlib.contextmanager
def timed_phases(seconds: dict[str, float]) -> Iterator[None]:
    """Record the wall time of each collection and of the links phase in `seconds`, by
    wrapping the importer's own steps for the duration of the block."""
    from migrations_mongo import pipeline

    original_collection = pipeline.Importer._collection
    original_links = pipeline.resolve_links

    def collection(self: Any, spec: Any) -> None:
        start = time.perf_counter()
        try:
            original_collection(self, spec)
        finally:
            seconds[spec.collection] = time.perf_counter() - start

    def links(*args: Any, **kwargs: Any) -> dict[str, int]:
        start = time.perf_counter()
        try:
            return original_links(*args, **kwargs)
        finally:
            seconds["(links)"] = time.perf_counter() - start

    pipeline.Importer._collection = collection
    pipeline.resolve_links = links
    try:
        yield
    finally:
        pipeline.Importer._collection = original_collection
        pipeline.resolve_links = original_links


def run_import(folder: Path, batch_size: int, log: Path) -> dict[str, Any]:
    from django.core.management import call_command

    from migrations_mongo.models import CollectionState

    phases: dict[str, float] = {}
    clock = BackendClock()
    # This process's memory during the import: streamed, it should stay flat with the size.
    memory = RssSampler(os.getpid(), interval=0.5).start()
    backend_start, cpu_start = clock.read(), time.process_time()
    start = time.perf_counter()
    exit_code = 0
    with timed_phases(phases):
        try:
            call_command(
                "migrate_from_mongo",
                dump=str(folder),
                quiet=True,
                batch_size=batch_size,
                error_log=str(log),
                stdout=io.StringIO(),
            )
        except SystemExit as stop:  # exit code 2: documents failed (the dump has some on purpose)
            exit_code = int(stop.code or 0)
    total = time.perf_counter() - start
    backend_end = clock.read()
    memory.stop()
    rss = memory.parent_memory
    states = {
        s.collection: {"imported": s.imported, "skipped": s.skipped, "failed": s.failed}
        for s in CollectionState.objects.all()
    }
    return {
        "seconds": total,
        "exit_code": exit_code,
        "phases": phases,
        "states": states,
        "client_cpu_seconds": time.process_time() - cpu_start,
        "backend_cpu_seconds": (
            backend_end - backend_start if backend_start is not None and backend_end else None
        ),
        "log_lines": sum(1 for _ in log.open(encoding="utf-8")) if log.exists() else 0,
        "rss_mib": {
            "start": round(rss.first_kb / 1024) if rss else None,
            "max": round(rss.max_kb / 1024) if rss else None,
        },
    }


def raw_read_seconds(folder: Path, collection: str) -> float:
    """How long one pass over a collection's file takes without decoding: the importer makes
    such a pass to size its progress bar (DumpSource.count), before the real one."""
    from migrations_mongo.sources import DumpSource

    start = time.perf_counter()
    DumpSource(folder).count(collection)
    return time.perf_counter() - start


# ---------------------------------------------------------------- the baseline


def imported_tables() -> list[str]:
    """The record tables and every table that refers to them (link tables, watchers, ...),
    each after the tables it refers to, so that loading them in this order meets no missing
    foreign key: what TRUNCATE ... CASCADE would empty, in loading order."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid <> confrelid"
        )
        refers: dict[str, set[str]] = {}
        for table, target in cursor.fetchall():
            refers.setdefault(table, set()).add(target)
    chosen = set(RECORD_TABLES)
    while extra := {t for t, targets in refers.items() if targets & chosen} - chosen:
        chosen |= extra
    ordered: list[str] = []
    while len(ordered) < len(chosen):
        ready = sorted(
            t for t in chosen - set(ordered) if not (refers.get(t, set()) & chosen) - set(ordered)
        )
        if not ready:
            raise SystemExit(f"foreign keys in a cycle among {sorted(chosen - set(ordered))}")
        # The record tables in their own order first, then the others by name.
        ready.sort(key=lambda t: (RECORD_TABLES.index(t) if t in RECORD_TABLES else 99, t))
        ordered.append(ready[0])
    return ordered


def row_counts(tables: list[str]) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (names from this file)
            counts[table] = cursor.fetchone()[0]
    return counts


def copy_baseline(tables: list[str], workdir: Path) -> dict[str, float]:
    """Copy the tables' rows out, empty the tables, and time loading the rows back with one
    COPY per table (generated columns are left out both ways, as PostgreSQL does by default)."""
    from django.db import connection

    from audit.bulk import audit_bulk_batch
    from audit.context import audit_context

    files = {table: workdir / f"{table}.copy" for table in tables}
    with connection.cursor() as cursor:
        for table, path in files.items():
            with (
                path.open("wb") as out,
                cursor.cursor.copy(f"COPY {table} TO STDOUT (FORMAT BINARY)") as copy,
            ):
                for chunk in copy:
                    out.write(chunk)
        cursor.execute(f"TRUNCATE {', '.join(tables)}")
    seconds: dict[str, float] = {}
    with audit_context({"user_id": None, "command": "bench_mongo_import"}):
        for table, path in files.items():
            start = time.perf_counter()
            details = {"table": table, "baseline": "plain COPY"}
            with (
                audit_bulk_batch(description=f"bench COPY {table}", details=details),
                connection.cursor() as cursor,
                path.open("rb") as source,
                cursor.cursor.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy,
            ):
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
            seconds[table] = time.perf_counter() - start
            path.unlink()
    return seconds


# ---------------------------------------------------------------- main


def _refuse_non_empty() -> None:
    from crm.models import Company, Contact

    if Contact.objects.exists() or Company.objects.exists():
        raise SystemExit("--database-url: the database already holds companies or contacts")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def _on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # `kill`: remove the scratch database and the dump too

    signal.signal(signal.SIGTERM, _on_term)
    os.environ.setdefault("MINICRM_ENV", "development")
    # As in production: with DEBUG on, Django keeps the SQL of each statement (and renders the
    # 2,000-id arrays of every batch's reference queries into it), which costs time and memory.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    workdir = Path(tempfile.mkdtemp(prefix="minicrm-bench-mongo-"))
    try:
        with django_database(args.database_url):
            if args.database_url:
                _refuse_non_empty()
            folder, counts, generate_s = make_dump(args, workdir)
            size = folder_bytes(folder)
            print(
                f"Dump: {sum(counts.values()):,} documents in {len(counts)} collections, "
                f"{size / 2**20:,.0f} MiB"
                + (f", written in {generate_s:.1f} s" if generate_s else f" ({folder})"),
                flush=True,
            )
            print("Importing (migrate_from_mongo) ...", flush=True)
            imported = run_import(folder, args.batch_size, workdir / "errors.jsonl")
            print(f"  {imported['seconds']:.1f} s", flush=True)
            contacts_read = raw_read_seconds(folder, "crm_Contacts")
            tables = imported_tables()
            before = row_counts(tables)
            print(f"Baseline: COPY of {sum(before.values()):,} rows ...", flush=True)
            copy = copy_baseline(tables, workdir)
            after = row_counts(tables)
            if after != before:
                changed = {t: (before[t], after[t]) for t in tables if before[t] != after[t]}
                raise SystemExit(f"the baseline did not reload the same rows: {changed}")
            report = {
                "counts": counts,
                "contacts": args.contacts,
                "seed": args.seed,
                "gzip": args.gzip,
                "dump_bytes": size,
                "generate_seconds": round(generate_s, 1),
                "batch_size": args.batch_size,
                "import": imported,
                "contacts_raw_read_seconds": contacts_read,
                "rows": before,
                "copy_seconds": {t: round(s, 3) for t, s in copy.items()},
                "summary": summarise(counts, imported, before, copy),
                "machine": machine(),
            }
            print_report(report)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
            print(f"\nJSON written to {args.json}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
