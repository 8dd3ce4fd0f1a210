"""`manage.py seed_scale --contacts 1000000`: the scale dataset of issue #8, for benchmarks.

N contacts and proportional companies (N/10), leads and deals (N/5 each, over three
pipelines), notes (N), tasks (0.3 N), contracts (N/20), documents (N/10, links to files kept
elsewhere), project boards with sections and cards (20 boards and 4,000 cards at 1M), with
custom field values on 30% of the rows, 20 users in 4 teams, team sharing and watchers, and one
big company with 2% of the contacts (scale.BIG_COMPANY_ID), in set-based SQL (crm/scale/).

It refuses to run in production (it creates users with a known password) and on a CRM that
already holds records: scale data mixed with real data is never wanted, and there is
deliberately no --force; start from an empty database instead (`manage.py flush`, or a new
database).
"""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm import scale


class Command(BaseCommand):
    help = "Load a large synthetic CRM (benchmarks): N contacts and proportional other records."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contacts", type=int, default=1_000_000, help="contacts to load")
        parser.add_argument(
            "--history",
            type=int,
            default=1000,
            help="contacts (and a fifth as many deals and leads) given real audited edits",
        )
        parser.add_argument("--seed", type=int, default=None, help="random seed, for repeats")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "seed_scale creates users with a known password; it refuses to run in production."
            )
        if options["contacts"] < 1 or options["history"] < 0:
            raise CommandError("--contacts must be 1 or more and --history zero or more.")
        found = scale.existing_data()
        if found:
            raise CommandError(
                "seed_scale loads into an empty CRM only, and this one has "
                + ", ".join(found)
                + ". Use a new database (or `manage.py flush`)."
            )
        seed = options["seed"] if options["seed"] is not None else random.randrange(1_000_000)
        plan = scale.Plan.proportional(options["contacts"], history=options["history"])
        self.stdout.write(
            f"Loading the scale dataset: {options['contacts']:,} contacts, seed {seed}"
        )
        report = scale.seed(plan, seed=seed, out=self.stdout.write)
        rows = sum(n for _, n, _ in report.tables)
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {rows:,} rows in {report.total_seconds:.1f} s "
                f"(inserts {report.insert_seconds:.1f} s)."
            )
        )
        if report.big_company:
            self.stdout.write(
                f"Big company: /companies/{report.big_company}/ "
                f"({report.big_company_contacts:,} contacts)"
            )
        self.stdout.write(
            f"Sign in as admin@{scale.SCALE_DOMAIN} / {scale.SCALE_PASSWORD}  (managers "
            f"manager01..04@, sales reps rep01..15@{scale.SCALE_DOMAIN}, same password)"
        )
