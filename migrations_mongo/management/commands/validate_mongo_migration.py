"""manage.py validate_mongo_migration: prove that migrate_from_mongo lost nothing
(docs/migrating-from-mongodb.md). Exit code 0 when every layer passes, 1 otherwise."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrations_mongo.options import add_source_arguments, source_from_options
from migrations_mongo.sources import SourceError
from migrations_mongo.validate import validate


class Command(BaseCommand):
    help = (
        "Compare a NextCRM MongoDB (the mongodump folder or server that was imported) with "
        "minicrm's database: counts, sample records, references and links, column types."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_source_arguments(
            parser, dump_help="The mongodump folder or --archive file that was imported."
        )
        parser.add_argument(
            "--sample",
            type=int,
            default=100,
            help="Random documents per collection compared column by column (default 100).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="Seed of the sample (default: a random one, printed so the run can be repeated).",
        )
        parser.add_argument("--json", default="", help="Also write the report as JSON here.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["sample"] < 0:
            raise CommandError("--sample cannot be negative")
        # Printed with the report, so a failing sample can be checked again after a fix.
        seed = (
            options["seed"]
            if options["seed"] is not None
            else random.SystemRandom().getrandbits(32)
        )
        quiet = options["verbosity"] == 0
        try:
            source = source_from_options(options, self.stdout)
        except SourceError as error:
            raise CommandError(str(error)) from error
        try:  # an archive's unpacked folder goes when the run ends, not at the interpreter's exit
            report = validate(
                source, sample=options["sample"], seed=seed, progress=None if quiet else sys.stderr
            )
        except SourceError as error:
            raise CommandError(str(error)) from error
        finally:
            source.close()
        report.write_text(self.stdout)
        if options["json"]:
            path = Path(options["json"])
            path.write_text(
                json.dumps(report.as_dict(), indent=1, ensure_ascii=False), encoding="utf-8"
            )
            self.stdout.write(f"JSON report: {path}\n")
        if not report.passed:
            raise SystemExit(1)
