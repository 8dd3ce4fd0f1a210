"""The CSV import engine: one chunk of rows per call, shared by the web wizard and
`manage.py import_csv`.

A pass reads the file from the byte offset the run has reached, so a chunk costs the same at
row 100 as at row 1,000,000 and memory stays constant. Each chunk is one transaction: the
records it writes, the outcome of each row (ImportRow) and the run's offset and counts commit
together, so an import stopped at any moment (a closed tab, a killed command) goes on from the
next row without duplicates or gaps. The run row is locked for the chunk, so two polls of the
same import never read the same rows.

Two passes use this: the dry run (`dry_run=True`) decides every row and writes nothing but the
outcomes; the import writes. Writes are audited row by row, each entry carrying the import's id
in its context (`csv_import`), which is what undo (undo.py) reads the previous values from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import islice
from typing import Any

import psycopg
from django.db import DatabaseError, connection, transaction
from django.db.models import Model, Q
from django.db.models.functions import Upper
from django.utils import timezone
from psycopg.types.json import Jsonb

from audit.context import apply_now, audit_context_with
from crm import permissions
from crm.copy import copy_instances, copy_rows, copy_update
from crm.entities import ENTITIES
from crm.imports.fields import import_fields
from crm.imports.reader import CsvError, Dialect, read_rows
from crm.imports.resolve import Resolver
from crm.imports.rows import (
    CREATE,
    ERROR,
    SKIP,
    UNCHANGED,
    UPDATE,
    Pending,
    Preparer,
    match_key,
)
from crm.models import Company, ImportRow, ImportRun

CHUNK_ROWS = 500
# What a refused write raises: Django's wrapper, or psycopg's own error from a COPY (which goes
# through the raw cursor, past Django's error translation).
REFUSED = (DatabaseError, psycopg.Error)
PREVIEW_ROWS = 10
# Columns compared in any letter case: UPPER(col) IN (...) on their functional indexes.
UPPER_MATCH = {"email", "name", "domain"}


class Importer:
    def __init__(self, run: ImportRun, user: Any) -> None:
        self.run = run
        self.user = user
        self.model = ENTITIES[run.entity].model
        self.fields = import_fields(run.entity)
        self.columns = [
            (index, header, self.fields[name])
            for index, (header, name) in enumerate(zip(run.headers, run.mapping, strict=True))
            if name in self.fields
        ]
        labels = {spec.name: header for _, header, spec in self.columns}
        if run.match_on in labels:
            labels["key"] = labels[run.match_on]
        self.resolver = Resolver(user, create_companies=run.create_related)
        self._related: list[Any] = []
        self.preparer = Preparer(
            model=self.model,
            entity=run.entity,
            user=user,
            fields=self.fields,
            labels=labels,
            mode=run.mode,
            match_on=run.match_on,
            resolver=self.resolver,
        )

    # -- one chunk -------------------------------------------------------------------------

    def step(self, max_rows: int = CHUNK_ROWS) -> bool:
        """Handle the next chunk; True when the pass has read the whole file."""
        finished = self._chunk(max_rows)
        if not finished:
            analyze_if_stale([self.model._meta.db_table, ImportRow._meta.db_table])
        return finished

    def _chunk(self, max_rows: int) -> bool:
        with (
            transaction.atomic(),
            audit_context_with(user_id=str(self.user.pk), csv_import=str(self.run.pk)),
        ):
            run = ImportRun.objects.select_for_update().get(pk=self.run.pk)
            if run.status not in (ImportRun.Status.CHECKING, ImportRun.Status.IMPORTING):
                self.run = run
                return True
            dialect = Dialect(run.encoding, run.delimiter)
            try:
                with run.file.open("rb") as file:
                    rows = list(islice(self._rows(file, run, dialect), max_rows))
            except CsvError as exc:
                self.run = _unreadable(run, str(exc))
                return True
            if not rows:
                self._finish(run)
                self.run = run
                return True
            items = [self._parse(row) for row in rows]
            self._decide(run, items)
            if not run.dry_run:
                self._write(items)
            self._record(run, items)
            run.position = rows[-1].end
            run.last_row = rows[-1].number
            run.save()
            with connection.cursor() as cursor:
                # The chunk's row counts reach pg_stat_user_tables at commit, not up to a
                # second later: analyze_if_stale reads them next (PostgreSQL 15+).
                cursor.execute("SELECT pg_stat_force_next_flush()")
            self.run = run
            return False

    @staticmethod
    def _rows(file: Any, run: ImportRun, dialect: Dialect) -> Iterable[Any]:
        start = run.position or run.data_start
        return read_rows(file, dialect, start=start, first_number=run.last_row + 1)

    def _parse(self, row: Any) -> Pending:
        item = Pending(row=row, values={})
        for index, header, spec in self.columns:
            text = row.cells[index].strip() if index < len(row.cells) else ""
            try:
                item.values[spec.name] = spec.parse(text)
            except ValueError as exc:
                item.fail(header, text, str(exc))
        if self.run.match_on:
            item.key = match_key(self.run.match_on, item.values.get(self.run.match_on))
        return item

    def _decide(self, run: ImportRun, items: list[Pending]) -> None:
        keyed = [i for i in items if i.key and not i.errors]
        self._duplicates(run, keyed)
        matches = self._matches([i for i in keyed if not i.errors])
        found = [r for records in matches.values() for r in records]
        editable = permissions.editable_ids(self.user, found) if found else set()
        links = self._links(items)
        for item in items:
            if item.errors:
                item.action = ERROR
            elif not item.key and run.mode == ImportRun.Mode.UPDATE:
                item.skip(f"nothing to match on: the {self.preparer.labels['key']} cell is empty")
            else:
                self.preparer.decide(item, matches.get(item.key, []) if item.key else [], editable)
            if item.action in (CREATE, UPDATE):
                self.preparer.build(item, links)

    def _duplicates(self, run: ImportRun, items: list[Pending]) -> None:
        """A key seen in an earlier row (of this chunk or a chunk before) is an error."""
        earlier = dict(
            ImportRow.objects.filter(run=run, key__in={i.key for i in items})
            .exclude(action__in=[ERROR, ImportRow.Action.RELATED])
            .values_list("key", "number")
        )
        label = self.preparer.labels.get("key", run.match_on)
        for item in items:
            if item.key in earlier:
                item.fail(label, item.values.get(run.match_on), f"repeats row {earlier[item.key]}")
            else:
                earlier[item.key] = item.row.number

    def _matches(self, items: list[Pending]) -> dict[str, list[Model]]:
        """Key -> the stored records it matches (locked when this pass writes)."""
        keys = [i.key for i in items]
        if not keys:
            return {}
        match_on = self.run.match_on
        records = self.model._default_manager.order_by()  # no sort: a lookup by key
        if not self.run.dry_run:
            records = records.select_for_update(of=("self",))
        if match_on in UPPER_MATCH:
            records = records.annotate(match_key=Upper(match_on)).filter(match_key__in=keys)
        elif match_on == "id":
            records = records.filter(pk__in=keys)
        elif match_on == "legacy_id":
            records = records.filter(legacy_id__in=keys)
        else:  # a custom field: one containment test per key, each served by the GIN index
            name = match_on[3:]
            condition = Q()
            for item in items:
                condition |= Q(custom_fields__contains={name: item.values[match_on]})
            records = records.filter(condition)
        result: dict[str, list[Model]] = defaultdict(list)
        for record in records:
            value = getattr(record, "match_key", None)
            if match_on == "id":
                value = str(record.pk)
            elif match_on == "legacy_id":
                value = record.legacy_id
            elif match_on.startswith("cf:"):
                value = record.custom_fields.get(match_on[3:])
            result[match_key(match_on, value)].append(record)
        return result

    def _links(self, items: list[Pending]) -> dict[str, dict[str, Any]]:
        texts: dict[str, dict[str, None]] = defaultdict(dict)  # ordered: first spelling wins
        for item in items:
            for name, value in item.values.items():
                kind = self.fields[name].relation
                if kind in ("company", "contact") and value:
                    texts[kind][value] = None
        return {
            "company": self.resolver.companies(texts["company"]),
            "contact": self.resolver.contacts(texts["contact"]),
        }

    # -- writing ---------------------------------------------------------------------------

    def _write(self, items: list[Pending]) -> None:
        new_companies = {id(i.new_company): i.new_company for i in items if i.new_company}
        # One query and one COPY for the chunk's new companies, not two queries each.
        made = set(
            Company.objects.filter(pk__in=[c.id for c in new_companies.values()]).values_list(
                "pk", flat=True
            )
        )
        fresh = [c for c in new_companies.values() if c.id not in made]
        copy_instances(
            Company,
            [Company(id=c.id, name=c.name, domain=c.domain, owner=self.user) for c in fresh],
        )
        self._related = fresh
        creates = [i for i in items if i.action == CREATE]
        updates = [i for i in items if i.action == UPDATE]
        self._bulk(creates, lambda recs: copy_instances(self.model, recs))
        fields = sorted({name for i in updates for name in i.changed})
        self._bulk(updates, lambda recs: copy_update(self.model, recs, fields))

    def _bulk(self, items: list[Pending], write: Any) -> None:
        """Write all at once; if the database refuses, row by row, so the rows it refuses
        are reported (with the database's reason) and the others still go in."""
        if not items:
            return
        try:
            with transaction.atomic():
                write([i.record for i in items])
            return
        except REFUSED:
            pass
        for item in items:
            try:
                with transaction.atomic():
                    write([item.record])
            except REFUSED as exc:
                item.action = ERROR
                item.fail("", "", _database_reason(exc))

    def _record(self, run: ImportRun, items: list[Pending]) -> None:
        """Each row's outcome, by COPY: a row per line of the file adds up at 100k lines."""
        outcomes = []
        for item in items:
            kept = item.action in (ERROR, SKIP)
            record_id = item.record.pk if item.action in (CREATE, UPDATE) else None
            outcomes.append(
                (run.pk, item.row.number, item.action, record_id, item.key,
                 Jsonb(item.errors), Jsonb(item.row.cells if kept else []), "")
            )  # fmt: skip
            setattr(run, _COUNTER[item.action], getattr(run, _COUNTER[item.action]) + 1)
            if run.dry_run and len(run.preview) < PREVIEW_ROWS and item.action in (CREATE, UPDATE):
                run.preview.append(self._preview(item))
        for company in self._related:
            related = ImportRow.Action.RELATED
            outcomes.append(
                (run.pk, company.first_row, related, company.id, "", Jsonb([]), Jsonb([]), "")
            )
        self._related = []
        apply_now()
        with connection.cursor() as cursor:
            copy_rows(cursor, ImportRow._meta.db_table, OUTCOME_COLUMNS, outcomes)

    def _preview(self, item: Pending) -> dict[str, Any]:
        shown = {}
        for _, header, spec in self.columns:
            value = item.values.get(spec.name)
            shown[header] = "" if value is None else _text(value)
        return {"row": item.row.number, "action": item.action, "values": shown}

    def _finish(self, run: ImportRun) -> None:
        run.rows_total = run.rows_read
        if run.dry_run:
            run.status = ImportRun.Status.CHECKED
        else:
            run.status = ImportRun.Status.DONE
            run.finished_at = timezone.now()
        run.save()


OUTCOME_COLUMNS = ("run_id", "number", "action", "record_id", "key", "errors", "cells", "undo")
_COUNTER = {
    CREATE: "created",
    UPDATE: "updated",
    UNCHANGED: "unchanged",
    SKIP: "skipped",
    ERROR: "failed",
}


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _database_reason(exc: Exception) -> str:
    """The database's own message, first line: names the constraint or the column."""
    cause = exc.__cause__ or exc
    diag = getattr(cause, "diag", None)
    text = (getattr(diag, "message_primary", None) or str(cause)).splitlines()[0]
    return f"the database refused the row: {text}"


# Stale enough to matter: more rows changed since the last ANALYZE than the table had then
# (and at least 1,000), so a table an import fills from empty is analyzed about log2(n) times.
# Autovacuum's rule (50 + 10%) would analyze it some forty times on the way to 100,000 rows:
# 15 s of ANALYZE, measured, against the 6 s of lookups it saves.
STALE_SQL = """
    SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.relname = ANY(%s) AND s.n_mod_since_analyze > 1000 + greatest(c.reltuples, 0)
"""


def analyze_if_stale(tables: list[str]) -> None:
    """ANALYZE the tables an import is filling once their statistics are stale, between
    chunks. Without statistics (a first import into an empty table, before autovacuum comes
    by about a minute later) each chunk's key lookups scan the whole table: 44-50 ms a chunk
    at 100,000 contacts instead of 3 ms. Where the app's role does not own the tables
    (docs/deployment.md), PostgreSQL skips with a warning and autovacuum stays the fallback."""
    with connection.cursor() as cursor:
        cursor.execute(STALE_SQL, [tables])
        for (table,) in cursor.fetchall():
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def _unreadable(run: ImportRun, reason: str) -> ImportRun:
    """The file cannot be read past some row (a byte the chosen encoding does not have, a
    broken quote). In the dry run nothing was written: the run goes back to its settings, so
    the user can choose another encoding. In the import the rows before it are in: the run
    fails, and undo takes them back if the user wants."""
    run.message = f"Stopped after row {run.last_row}: {reason}"
    if run.dry_run:
        ImportRow.objects.filter(run=run).delete()
        run.status = ImportRun.Status.UPLOADED
    else:
        run.status = ImportRun.Status.FAILED
        run.finished_at = timezone.now()
    run.save()
    return run


def start_pass(run: ImportRun, *, dry_run: bool) -> None:
    """Reset the run for a pass over the whole file: the dry run, or the import itself."""
    with transaction.atomic():
        ImportRow.objects.filter(run=run).delete()
        run.dry_run = dry_run
        run.status = ImportRun.Status.CHECKING if dry_run else ImportRun.Status.IMPORTING
        run.position = run.data_start
        run.last_row = 1
        run.created = run.updated = run.unchanged = run.skipped = run.failed = 0
        run.message = ""
        if dry_run:
            run.preview = []
        else:
            run.started_at = timezone.now()
        run.save()


def run_all(run: ImportRun, user: Any, *, chunk: int = CHUNK_ROWS) -> Iterable[ImportRun]:
    """Every remaining chunk of the pass in progress; yields the run after each (progress)."""
    importer = Importer(run, user)
    while not importer.step(chunk):
        yield importer.run
    yield importer.run
