"""`manage.py audit_prune --before DATE`: the one way entries leave the audit log.

Deletes every entry older than DATE (midnight at the start of that day, in TIME_ZONE) through
the SQL function audit_prune(), which lifts the append-only guard for its own DELETE only and
then records a `prune` entry (cut-off, count, and this command with its arguments, through the
command wrapper). Run it as the database owner, like `migrate`: the web app's role may not.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from audit.context import apply_now


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--before takes a date as YYYY-MM-DD, not {value!r}") from exc


class Command(BaseCommand):
    help = "Delete audit log entries older than a date (the deletion is itself audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--before", required=True, type=_date, help="Delete entries before this date."
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        before: dt.date = options["before"]
        cutoff = timezone.make_aware(dt.datetime.combine(before, dt.time.min))
        if cutoff > timezone.now():
            raise CommandError("--before must not be in the future.")
        using = options["database"]
        with transaction.atomic(using=using), connections[using].cursor() as cursor:
            apply_now(using)  # the prune entry names this command and its arguments
            cursor.execute("SELECT public.audit_prune(%s)", [cutoff])
            deleted = cursor.fetchone()[0]
        self.stdout.write(f"Deleted {deleted} audit log entries from before {before}.")
