"""CSV export of a list view: every row of the current filter that the user may see, streamed.

    export = csv_export_start(user=request.user, spec=spec, params=request.GET)
    StreamingHttpResponse(export.chunks(), ...)

The rows are the list's own: the same filter form (crm/forms/lists.py) reads the same GET
parameters, the same engine functions filter and sort `permissions.visible_to(user)`, and the
same visibility annotations say which related names may be written (in the row query: no
query per row or per batch for names). What differs is paging. The first batch is a keyset
page of 100 rows, so the first bytes leave as fast as the list's first page; the rest is one
query after that page's last row, in the list's order, read through a server-side cursor
5,000 rows at a time: constant memory, no COUNT, no sort beyond what the list's index gives.
Both read one REPEATABLE READ snapshot, so a row edited during the export (which moves it in
an "updated" sort) is neither skipped nor written twice.

Rows are read as tuples (`values_list`) of exactly the columns the cells need: building model
instances cost as much as the query itself. The columns (crm/lists/export.py) say which paths
each cell reads and how it writes them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import BooleanField, QuerySet, Value
from django.http import QueryDict
from django.utils import timezone

from audit.exports import audit_export
from crm import permissions
from crm.entities import ENTITIES
from crm.forms.lists import ListFilterForm, view_query
from crm.lists import engine, keyset
from crm.lists.custom import CustomFieldFilter
from crm.lists.export import (
    BOM,
    ExportColumn,
    custom_columns,
    list_columns,
    neutralise,
    visible_flags,
)
from crm.lists.filters import FilterContext
from crm.lists.spec import ListSpec

__all__ = ["BOM", "CONTENT_TYPE", "CsvExport", "ExportRefused", "csv_export", "neutralise"]

BATCH_SIZE = 5000
# The first batch is a list page's worth: time to first byte is that of the list's page 1.
FIRST_BATCH_SIZE = 100
CONTENT_TYPE = "text/csv; charset=utf-8"


class ExportRefused(Exception):
    """The filter parameters have errors: exporting without the refused filter would hand
    out more rows than the user asked for, so nothing is exported."""

    def __init__(self, form: ListFilterForm) -> None:
        super().__init__("The list's filter has errors.")
        self.form = form


@contextmanager
def _snapshot(using: str) -> Iterator[None]:
    """One read-only REPEATABLE READ transaction for every batch: the export is the table as
    of its first query. Inside a caller's transaction (tests) that one's snapshot rules."""
    connection = connections[using]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


@dataclass
class CsvExport:
    """A prepared export: the filtered, ordered rows and how each column writes them."""

    spec: ListSpec
    rows: QuerySet  # values_list() of `paths`, in the list's order
    order: keyset.SortOrder
    columns: list[ExportColumn]
    paths: list[str]
    filename: str
    batch_size: int = BATCH_SIZE
    first_batch_size: int = FIRST_BATCH_SIZE
    using: str = DEFAULT_DB_ALIAS
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    def batches(self) -> Iterator[list[tuple]]:
        """The rows in batches of `batch_size`, after a first one of `first_batch_size`.

        The first batch is a keyset page (the list's own query, LIMIT 100: fast to start).
        The rest is one query after its last row, read through a server-side cursor
        `batch_size` rows at a time: a million rows are one plan and one index scan instead
        of 200 queries that each plan, build the visibility sets and descend the index again
        (a third of the time at 1M). Where server-side cursors are off
        (DISABLE_SERVER_SIDE_CURSORS, for a transaction pooler), that query would be read
        whole into memory, so every batch is a keyset page instead.
        """
        pk_at, sort_at = self.paths.index("pk"), self.paths.index(self.order.path)
        streamed = not connections[self.using].settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
        rows, size = self.rows, min(self.first_batch_size, self.batch_size)
        while True:
            batch = list(rows[:size])
            if batch:
                yield batch
            if len(batch) < size:
                return
            last = keyset.Cursor(value=batch[-1][sort_at], pk=batch[-1][pk_at])
            rows, size = self.rows.filter(keyset.after(self.order, last)), self.batch_size
            if streamed:
                yield from _batched(rows.iterator(chunk_size=size), size)
                return

    def chunks(self) -> Iterator[bytes]:
        """The file as UTF-8 bytes, one chunk per batch; the first carries the byte order
        mark, the header row and the first batch."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)  # RFC 4180: "," and quotes as needed, CRLF line ends
        cells = [column.bind(self.paths) for column in self.columns]

        def take() -> bytes:
            data = buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            return data

        buffer.write(BOM)
        writer.writerow(self.headers)
        with _snapshot(self.using):
            for batch in self.batches():
                writer.writerows([cell(row) for cell in cells] for row in batch)
                yield take()
        if buffer.tell():
            yield take()  # nothing matched: the header row alone


def _batched(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def csv_export(
    *, user: Any, spec: ListSpec, params: QueryDict, batch_size: int | None = None
) -> CsvExport:
    """The export of the `spec` list as `params` (request.GET) filter and sort it, for `user`.

    Raises ExportRefused when a parameter has an error (the list page shows which). No row is
    read yet; the queries made here are the ones the list page makes before its rows: filter
    options, custom field definitions, the ids the visibility rules read.
    """
    ctx = FilterContext(user)
    form = ListFilterForm(spec=spec, ctx=ctx, data=params)
    if not form.is_valid():
        raise ExportRefused(form)
    order = engine.sort_order(spec, form.values.get("sort"))
    definitions = [f.definition for f in form.filters if isinstance(f, CustomFieldFilter)]
    columns = list_columns(spec)
    columns += custom_columns(definitions, {column.header for column in columns})

    annotations = engine.visibility_annotations(spec, user)
    for flag in visible_flags(columns):
        # Nothing hidden on this relation (an admin, or a record that governs no names).
        annotations.setdefault(flag, Value(True, output_field=BooleanField()))
    # The row tuple: the keyset's pk and sort value, then every path a column reads, once.
    paths = list(dict.fromkeys(["pk", order.path, *(p for c in columns for p in c.paths)]))
    visible = permissions.listed_to(user, spec.model)  # the top of the row query
    rows = (
        engine.filtered(spec, visible, form, ctx)
        .annotate(**annotations)
        .order_by(*order.order_by())
        .values_list(*paths)
    )
    plural = ENTITIES[spec.key].plural
    return CsvExport(
        spec=spec,
        rows=rows,
        order=order,
        columns=columns,
        paths=paths,
        filename=f"{plural}-{timezone.localdate().isoformat()}.csv",
        batch_size=batch_size or BATCH_SIZE,
        details={
            "entity": spec.key,
            "format": "csv",
            "query": view_query(params)[:2000],
            "filters": form.active_values,
            "sort": order.key,
            "columns": [column.header for column in columns],
        },
    )


def csv_export_start(
    *, user: Any, spec: ListSpec, params: QueryDict, batch_size: int | None = None
) -> CsvExport:
    """Prepare the export (csv_export) and record it in the audit log before the first byte
    leaves: who (the request's audit context), which entity, with which filter and sort. An
    export refused for a bad filter is not recorded; one the user abandons midway is."""
    export = csv_export(user=user, spec=spec, params=params, batch_size=batch_size)
    audit_export(table=spec.model._meta.db_table, details=export.details)
    return export
