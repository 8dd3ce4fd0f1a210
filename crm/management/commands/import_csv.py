"""manage.py import_csv: a CSV file into minicrm through the import wizard's engine (issue #9).

The file goes through the same services as a web upload (crm/services/imports.py), so an
import made here is an ImportRun like any other: on its author's imports page, undoable there
or from the admin, each write audited with the user and the import's id (audit/commands.py
adds the command's name and options to the same entries).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Count
from tqdm import tqdm

from accounts.models import User
from crm.imports.engine import start_pass
from crm.imports.fields import IMPORTABLE
from crm.imports.options import (
    DELIMITER_LABELS,
    DELIMITER_NAMES,
    ENCODING_NAMES,
    ENTITY_NAMES,
    command_user,
    mapping_with,
    named_option,
    one_line,
)
from crm.imports.reader import ENCODINGS
from crm.models import ImportRow, ImportRun
from crm.services.imports import (
    import_advance,
    import_commit,
    import_configure,
    import_upload,
    match_choices,
)

# Exit codes: 0 every row imported (or skipped by rule); 1 nothing ran (a configuration
# error); 2 rows were rejected (skip mode: the others are in; all mode: nothing is).
EXIT_REJECTED = 2
SHOWN_REJECTED = 50
# Each import_advance call works this long; the progress bar moves between calls.
STEP_SECONDS = 1.0
RUNNING = (ImportRun.Status.CHECKING, ImportRun.Status.IMPORTING, ImportRun.Status.UNDOING)


class Command(BaseCommand):
    help = (
        "Import a CSV file of companies, contacts, leads or deals with the web import's engine: "
        "encoding and delimiter detected, columns mapped from their headers (the mapping is "
        "printed; correct it with --map), rows matched on email, domain, name, id or a unique "
        "custom field. --on-error skip (the default, as in the web wizard) writes in a single "
        "pass and reports the rows it rejected: no dry run first, since the writing pass "
        "decides each row exactly as the dry run would (the dry run would double the time). "
        "--on-error all checks every row first and writes nothing if one fails. Either way "
        "the import can be undone from its page in minicrm or from the admin. "
        "Exit code: 0 no row rejected, 1 a configuration error (nothing ran), 2 rows rejected."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if parser.called_from_command_line:
            # argparse exits with 2 on a usage error, which callers of this command read as
            # "rows were rejected": a usage error is a configuration error, exit 1.
            def usage_error(message: str) -> NoReturn:
                parser.print_usage(sys.stderr)
                parser.exit(1, f"{parser.prog}: error: {message}\n")

            parser.error = usage_error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("entity", help="company, contact, lead or deal (or the plural)")
        parser.add_argument("file", help="The CSV file; it is read in chunks, never whole.")
        parser.add_argument(
            "--user", required=True, help="Email of the user the import runs as and for."
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADER=FIELD",
            help='Map the column HEADER to FIELD (as printed, e.g. "E-mail=email", '
            '"Region=cf:region"); "HEADER=" ignores the column. Repeat for each column to '
            "change; the other columns keep the suggested mapping.",
        )
        parser.add_argument(
            "--mode",
            choices=ImportRun.Mode.values,
            default=ImportRun.Mode.UPSERT,
            help="create: new records only; update: matched records only; upsert: both "
            "(the default).",
        )
        parser.add_argument(
            "--match-on",
            default="",
            help="The field rows are matched to stored records on (default: the first mapped "
            "of email / domain / name / id / legacy_id).",
        )
        parser.add_argument(
            "--on-error",
            choices=ImportRun.OnError.values,
            default=ImportRun.OnError.SKIP,
            help="skip: write the good rows, report the others (the default); all: check "
            "every row first, and write nothing if one fails.",
        )
        parser.add_argument(
            "--create-related",
            action="store_true",
            help="Create the companies the file names that do not exist yet.",
        )
        parser.add_argument(
            "--encoding",
            default="",
            metavar="{utf-8,windows-1252,latin-1}",
            help="The file's encoding, if detection gets it wrong.",
        )
        parser.add_argument(
            "--delimiter",
            default="",
            metavar="{comma,semicolon,tab}",
            help="The file's delimiter, if detection gets it wrong (or the character itself).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row and write no record."
        )
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.quiet = options["quiet"]
        entity = ENTITY_NAMES.get(options["entity"].lower())
        if entity is None:
            raise CommandError(f"ENTITY must be one of {', '.join(IMPORTABLE)}.")
        user = command_user(options["user"])
        run = self._prepare(user, entity, Path(options["file"]), options)
        skip_check = run.on_error == ImportRun.OnError.SKIP and not options["dry_run"]
        if not skip_check:
            run = self._advance(user, run, "Checking")
            if run.status == ImportRun.Status.UPLOADED:
                # The engine could not read the file past some row and put the run back
                # to its settings (crm/imports/engine.py, _unreadable).
                raise CommandError(f"{run.message} Nothing was written.")
            if options["dry_run"] or run.failed:
                self._report(run)
                return self._exit(run)
            run = import_commit(user=user, run=run)
        run = self._advance(user, run, "Importing")
        self._report(run)
        if run.status == ImportRun.Status.FAILED:
            raise CommandError(
                f"{run.message} The rows before it are imported: undo import {run.pk} from "
                "its page in minicrm or in the admin, or import the rest."
            )
        self._exit(run)

    # -- before the first row: upload, mapping, options -----------------------------------

    def _prepare(self, user: User, entity: str, path: Path, options: dict) -> ImportRun:
        """The stored, configured run, its first pass started; a CommandError leaves no run
        and no stored copy behind."""
        run = None
        try:
            with transaction.atomic():
                run = self._upload(user, entity, path, options)
                mapping = mapping_with(run, options["map"])
                match_on = options["match_on"] or next(
                    (name for name, _ in match_choices(entity) if name in mapping), ""
                )
                self._show_mapping(run, mapping, match_on, options)
                chosen = {
                    "mapping": mapping,
                    "mode": options["mode"],
                    "match_on": match_on,
                    "on_error": options["on_error"],
                    "create_related": options["create_related"],
                }
                try:
                    run = import_configure(user=user, run=run, options=chosen)
                except ValidationError as exc:
                    raise CommandError(one_line(exc, run)) from None
                if run.on_error == ImportRun.OnError.SKIP and not options["dry_run"]:
                    # Skip mode needs no dry run before writing: the writing pass decides
                    # each row the same way, so the check would only double the time.
                    start_pass(run, dry_run=False)
        except CommandError:
            if run is not None and run.file:
                run.file.delete(save=False)  # the run's row was rolled back; its copy goes too
            raise
        return run

    def _upload(self, user: User, entity: str, path: Path, options: dict) -> ImportRun:
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        encoding = named_option(options["encoding"].lower(), ENCODING_NAMES, "--encoding")
        delimiter = named_option(options["delimiter"], DELIMITER_NAMES, "--delimiter")
        try:
            with path.open("rb") as handle:
                # An UploadedFile without a temporary path: storage copies it with
                # File.chunks(), 64 KiB at a time, and the reader only ever reads a sample
                # and the header, so the file is never held whole in memory.
                upload = UploadedFile(
                    handle, name=path.name, content_type="text/csv", size=path.stat().st_size
                )
                return import_upload(
                    user=user, entity=entity, upload=upload, encoding=encoding,
                    delimiter=delimiter, size_limit=False,
                )  # fmt: skip
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror or exc}.") from None
        except ValidationError as exc:
            raise CommandError(f"{path}: {one_line(exc)}") from None

    def _show_mapping(
        self, run: ImportRun, mapping: list[str], match_on: str, options: dict
    ) -> None:
        out = self.stdout
        out.write(
            f"{run.file_name}: {run.entity} rows, {ENCODINGS[run.encoding]}, "
            f"{DELIMITER_LABELS[run.delimiter]}-separated. Columns:"
        )
        width = max((len(h) for h in run.headers), default=0)
        for header, name in zip(run.headers, mapping, strict=True):
            out.write(f"  {header:<{width}}  -> {name or '(ignored)'}")
        out.write(
            f"Mode {options['mode']}, matching on {match_on or 'nothing'}, "
            f"on error: {options['on_error']}{', dry run' if options['dry_run'] else ''}."
        )

    # -- the passes ------------------------------------------------------------------------

    def _advance(self, user: User, run: ImportRun, label: str) -> ImportRun:
        """Run the pass in progress to its end, with a progress bar in bytes of the file."""
        start = run.data_start
        with tqdm(
            total=max(run.file_size - start, 0),
            desc=label,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=sys.stderr,
            disable=self.quiet,
            mininterval=0.5,
        ) as bar:
            while run.status in RUNNING:
                try:
                    run = import_advance(user=user, run=run, seconds=STEP_SECONDS)
                except KeyboardInterrupt:
                    # The chunk in progress rolls back; the ones before it are committed.
                    raise CommandError(f"Interrupted. {_paused(run)}") from None
                if run.status == ImportRun.Status.UNDOING:
                    bar.set_description("Undoing")
                bar.update(max(run.position - start, 0) - bar.n)
                bar.set_postfix_str(f"row {run.last_row:,}", refresh=False)
        return run

    # -- the outcome -----------------------------------------------------------------------

    def _report(self, run: ImportRun) -> None:
        out = self.stdout
        counted = run.created + run.updated + run.unchanged + run.skipped + run.failed
        if run.dry_run:
            out.write(f"Dry run, nothing written. Of the {counted:,} rows, these would be")
        elif run.status == ImportRun.Status.DONE:
            out.write(f"Imported {counted:,} rows into {run.entity} records.")
        elif run.status == ImportRun.Status.FAILED:
            out.write(f"Stopped part way, after {counted:,} rows.")
        else:  # all or nothing, and a row failed while writing: the rows before are undone
            out.write(f"{run.message} Status: {run.get_status_display().lower()}.")
        counts = [
            ("created", run.created), ("updated", run.updated), ("unchanged", run.unchanged),
            ("skipped", run.skipped), ("rejected", run.failed),
        ]  # fmt: skip
        for label, number in counts:
            out.write(f"  {label:<10}{number:>10,}")
        self._skipped(run)
        self._rejected(run)
        if run.dry_run and run.failed and run.on_error == ImportRun.OnError.ALL_OR_NOTHING:
            out.write(
                f"Nothing was imported: {run.failed:,} rows have errors and --on-error all "
                "imports every row or none. Correct the file, or use --on-error skip."
            )
        kind = "Dry run" if run.dry_run else "Import"
        undo = "" if run.dry_run else ": undo it from its page in minicrm or in the admin"
        out.write(f"{kind} {run.pk}{undo}.")

    def _skipped(self, run: ImportRun) -> None:
        if not run.skipped:
            return
        reasons = (
            run.rows.filter(action=ImportRow.Action.SKIP)
            .values("errors")
            .annotate(rows=Count("id"))
            .order_by("-rows")[:5]
        )
        self.stdout.write("Skipped rows, by reason:")
        for group in reasons:
            reason = "; ".join(e["reason"] for e in group["errors"]) or "no reason given"
            self.stdout.write(f"  {group['rows']:>8,}  {reason}")

    def _rejected(self, run: ImportRun) -> None:
        if not run.failed:
            return
        self.stdout.write("Rejected rows (row, column, value: reason):")
        rows = run.rows.filter(action=ImportRow.Action.ERROR).order_by("number")
        for row in rows[:SHOWN_REJECTED]:
            for error in row.errors:
                where = f", {error['column']} {error['value']!r}" if error["column"] else ""
                self.stdout.write(f"  row {row.number}{where}: {error['reason']}")
        if run.failed > SHOWN_REJECTED:
            self.stdout.write(f"  and {run.failed - SHOWN_REJECTED:,} more rows")

    def _exit(self, run: ImportRun) -> None:
        if run.failed or run.status in (ImportRun.Status.FAILED, ImportRun.Status.UNDONE):
            sys.exit(EXIT_REJECTED)


def _paused(run: ImportRun) -> str:
    if run.dry_run:
        return f"Stopped checking after row {run.last_row:,}; nothing was written."
    return (
        f"Import {run.pk} holds the rows up to row {run.last_row:,} and is paused: open it "
        "from Imports in minicrm to go on from the next row."
    )
