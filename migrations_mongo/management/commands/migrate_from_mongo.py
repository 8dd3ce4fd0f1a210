"""manage.py migrate_from_mongo: import NextCRM (docs/migrating-from-mongodb.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrations_mongo.options import add_source_arguments, source_from_options
from migrations_mongo.pipeline import Importer, Report, write_error_log
from migrations_mongo.sources import SourceError

# Exit codes: 0 everything imported (warnings are in the log); 1 the run stopped (bad source,
# unreachable server: fix it and run again, it resumes); 2 it finished but documents failed.
EXIT_FAILED_DOCUMENTS = 2


class Command(BaseCommand):
    help = (
        "Import a NextCRM MongoDB (a mongodump folder or archive, or a live server) into minicrm. "
        "Resumes where the last run stopped; run it again after any interruption."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_source_arguments(
            parser,
            dump_help="A mongodump output folder (.bson or .bson.gz files), or a file written "
            "by mongodump --archive (with or without --gzip).",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--resume",
            action="store_true",
            default=True,
            help="Continue from the last checkpoint (the default).",
        )
        mode.add_argument(
            "--restart",
            action="store_true",
            help="Forget checkpoints and the log and read the source from the start; rows "
            "already imported are updated in place, never doubled.",
        )
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument(
            "--error-log",
            default="migrate_from_mongo-errors.jsonl",
            help="Where the log goes, as JSON lines (default: %(default)s).",
        )
        parser.add_argument(
            "--quiet", action="store_true", help="No progress bars or unpacking lines (for cron)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            # Checked before the run, not after an hour of importing.
            Path(options["error_log"]).open("a", encoding="utf-8").close()
        except OSError as error:
            raise CommandError(f"--error-log {options['error_log']}: {error}") from error
        try:
            source = source_from_options(options, self.stdout, quiet=options["quiet"])
        except SourceError as error:
            raise CommandError(str(error)) from error
        # Closed when the run ends, whatever the outcome: an archive's unpacked folder is as big
        # as the database and must not wait for the interpreter's exit (or outlive an exception
        # whose traceback still holds this frame).
        try:
            importer = Importer(
                source,
                batch_size=options["batch_size"],
                progress=None if options["quiet"] else sys.stderr,
            )
            if options["restart"]:
                importer.restart()
            report = importer.run()
        except SourceError as error:
            raise CommandError(str(error)) from error
        finally:
            source.close()
        log_lines = write_error_log(Path(options["error_log"]))
        self._print(report, source.label, options["error_log"], log_lines)
        if report.failed:
            sys.exit(EXIT_FAILED_DOCUMENTS)

    def _print(self, report: Report, label: str, log: str, log_lines: int) -> None:
        out = self.stdout
        out.write(f"Imported from {label}\n")
        out.write(
            f"{'collection':<32}{'source':>10}{'imported':>10}{'skipped':>9}"
            f"{'failed':>8}{'warnings':>10}\n"
        )
        for row in report.collections:
            out.write(
                f"{row.collection:<32}{row.source:>10,}{row.imported:>10,}"
                f"{row.skipped:>9,}{row.failed:>8,}{row.warnings:>10,}"
                f"{'  ' + row.note if row.note else ''}\n"
            )
        for name in report.unknown:
            out.write(f"{name:<32} not a NextCRM collection: not imported\n")
        for name, claims in report.links.items():
            out.write(f"links {name:<26} {claims:>10,} claims\n")
        out.write(f"Log: {log} ({log_lines:,} lines)\n")
        if report.failed:
            self.stderr.write(f"{report.failed:,} documents failed: see {log}")
        else:
            out.write(self.style.SUCCESS("Every document imported or skipped by rule.") + "\n")
