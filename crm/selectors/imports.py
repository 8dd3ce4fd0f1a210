"""Reads of the CSV import wizard: the imports a user may see, sample cells of an uploaded
file, a run's row outcomes page by page, and the rejected rows as a CSV.

An import belongs to its author; admins see everyone's (docs/csv-import.md). Lists page by
keyset (created_at, id) or by row number, never by OFFSET or COUNT(*): a busy instance has
many imports and an import may hold a million rows.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from crm.imports.reader import CsvError, Dialect, read_rows
from crm.lists.export import BOM, neutralise
from crm.models import ImportRow, ImportRun

LIST_PAGE = 25
ROWS_PAGE = 50
SAMPLE_ROWS = 3
CSV_BATCH = 1000
PROBLEM_ACTIONS = (ImportRow.Action.ERROR, ImportRow.Action.SKIP)
UNDO_ACTIONS = (ImportRow.Action.CREATE, ImportRow.Action.UPDATE, ImportRow.Action.RELATED)


def import_runs_visible_to(user: Any) -> QuerySet[ImportRun]:
    """The imports `user` may open: their own, or every one for an admin."""
    runs = ImportRun.objects.select_related("created_by")
    return runs if user.is_admin else runs.filter(created_by=user)


def import_run_for_user(*, user: Any, pk: Any) -> ImportRun:
    """One import `user` may open; 404 for someone else's (no existence leak) and bad ids."""
    try:
        return import_runs_visible_to(user).get(pk=pk)
    except (ImportRun.DoesNotExist, ValueError):
        raise Http404("No such import.") from None


@dataclass
class RunPage:
    runs: list[ImportRun]
    next_cursor: str  # the id to pass as `before` for the next (older) page; "" at the end


def import_list(*, user: Any, before: str = "", limit: int | None = None) -> RunPage:
    """The newest `limit` imports `user` may see, older than the run `before` names (an id
    from a previous page; anything else means the first page). Served by importrun_user_idx
    (a user's own) or importrun_created_idx (an admin's everyone)."""
    limit = limit or LIST_PAGE
    runs = import_runs_visible_to(user).order_by("-created_at", "-id")
    boundary = _boundary(runs, before)
    if boundary is not None:
        at, pk = boundary
        runs = runs.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=pk))
    page = list(runs[: limit + 1])
    more = len(page) > limit
    return RunPage(page[:limit], str(page[limit - 1].pk) if more else "")


def _boundary(runs: QuerySet[ImportRun], before: str) -> tuple[Any, uuid.UUID] | None:
    try:
        pk = uuid.UUID(before)
    except ValueError:
        return None
    at = runs.filter(pk=pk).values_list("created_at", flat=True).first()
    return (at, pk) if at is not None else None


def column_samples(run: ImportRun, count: int = SAMPLE_ROWS) -> tuple[list[list[str]], str]:
    """Up to `count` values per column from the first data rows, and a reading problem ("" if
    none). Reads a few rows from the data's first byte, whatever the file's size."""
    samples: list[list[str]] = [[] for _ in run.headers]
    try:
        with run.file.open("rb") as file:
            dialect = Dialect(run.encoding, run.delimiter)
            rows = list(islice(read_rows(file, dialect, start=run.data_start), count))
    except (CsvError, OSError) as exc:
        return samples, str(exc)
    for row in rows:
        for index, cell in enumerate(row.cells[: len(samples)]):
            if cell.strip():
                samples[index].append(cell.strip())
    return samples, ""


@dataclass
class RowPage:
    rows: list[ImportRow]
    next_after: str  # the cursor of the next page; "" on the last page


def problem_rows(*, run: ImportRun, after: int = 0, limit: int | None = None) -> RowPage:
    """Rejected and skipped rows after row number `after`, in file order (a row number is
    unique per run for these actions; importrow_run_action_idx serves the filter)."""
    limit = limit or ROWS_PAGE
    rows = list(
        run.rows.filter(action__in=PROBLEM_ACTIONS, number__gt=after)
        .order_by("number")
        .only("run", "number", "action", "errors")[: limit + 1]
    )
    more = len(rows) > limit
    return RowPage(rows[:limit], str(rows[limit - 1].number) if more else "")


def kept_rows(*, run: ImportRun, after: str = "", limit: int | None = None) -> RowPage:
    """Rows undo left as they were (changed since, linked to since...), in file order. A
    company created for a link shares its row's number, so the cursor is "number.id"."""
    limit = limit or ROWS_PAGE
    rows = run.rows.exclude(undo__in=["", "undone"]).order_by("number", "id")
    number, _, pk = after.partition(".")
    if number.isdigit() and pk.isdigit():
        rows = rows.filter(Q(number__gt=int(number)) | Q(number=int(number), id__gt=int(pk)))
    page = list(rows.only("run", "number", "action", "record_id", "undo")[: limit + 1])
    more = len(page) > limit
    last = page[limit - 1] if more else None
    return RowPage(page[:limit], f"{last.number}.{last.pk}" if last else "")


def undo_progress(run: ImportRun) -> tuple[int, int]:
    """(rows undo has handled, rows it has to handle): one run's rows, not a whole table."""
    rows = run.rows.filter(action__in=UNDO_ACTIONS)
    return rows.exclude(undo="").count(), rows.count()


def rejected_rows_csv(run: ImportRun, batch: int = CSV_BATCH) -> Iterator[bytes]:
    """The rejected and skipped rows as a CSV a spreadsheet opens: the file's own columns
    with the row's cells, then its row number, what happened and why. UTF-8 with a byte order
    mark (Excel); every cell neutralised, since the cells are whatever the upload held.
    Read in keyset batches by row number, so a million rejected rows stream in constant
    memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    width = len(run.headers)
    buffer.write(BOM)
    writer.writerow([neutralise(h) for h in [*run.headers, "Row", "Result", "Reason"]])
    after = 0
    while True:
        rows = list(
            run.rows.filter(action__in=PROBLEM_ACTIONS, number__gt=after)
            .order_by("number")
            .only("run", "number", "action", "errors", "cells")[:batch]
        )
        for row in rows:
            cells = [*row.cells[:width], *[""] * (width - len(row.cells))]
            reason = "; ".join(_reason(e) for e in row.errors)
            line = [*cells, str(row.number), row.get_action_display(), reason]
            writer.writerow([neutralise(str(cell)) for cell in line])
        data = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        if data:
            yield data
        if len(rows) < batch:
            return
        after = rows[-1].number


def _reason(error: dict[str, str]) -> str:
    column = error.get("column") or ""
    return f"{column}: {error.get('reason', '')}" if column else error.get("reason", "")
