"""Layer 2, sample records: N random documents per collection, converted again with the
importer's own code and compared column by column with their row in PostgreSQL, together with
the rows made from them (a contact's notes) and their leftovers.

The sample is a reservoir over the stream (constant memory, one random draw per document), from
`random.Random(seed)`, so a run with the same seed and source checks the same documents.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from django.db import connection, models

from migrations_mongo.document import Doc, to_json
from migrations_mongo.mapping import Spec

from . import common
from .report import Layer

LEFTOVERS = "(leftovers)"


class Reservoir:
    """A uniform random sample of at most `size` items of a stream of unknown length."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size, self.rng = size, rng
        self.items: list[Any] = []
        self.seen = 0

    def add(self, item: Any) -> None:
        self.seen += 1
        if len(self.items) < self.size:
            self.items.append(item)
            return
        # Item n replaces a kept one with probability size/n (Vitter's algorithm R).
        slot = self.rng.randrange(self.seen)
        if slot < self.size:
            self.items[slot] = item


class Samples:
    def __init__(self, size: int, rng: random.Random) -> None:
        self.layer = Layer("samples", "Sample records")
        for name in ("documents", "rows_compared", "columns_compared", "aliases", "not_imported"):
            self.layer.counts[name] = 0
        self.size, self.rng = size, rng
        self._reservoir = Reservoir(size, rng)
        self._row: dict[str, Any] = {}

    def start(self, spec: Spec) -> None:
        self._reservoir = Reservoir(self.size, self.rng)
        self._row = self.layer.row(
            "collections", collection=spec.collection, sampled=0, compared=0, mismatches=0
        )

    def feed(self, spec: Spec, docs: list[dict[str, Any]], _context: dict[str, Any]) -> None:
        if not (spec.table or spec.keep_whole):
            return  # skipped by rule, nothing of it stored: layer 1 has counted it
        for raw in docs:
            self._reservoir.add(raw)

    def finish(self, spec: Spec, context: dict[str, Any]) -> None:
        docs, self._reservoir = self._reservoir.items, Reservoir(0, self.rng)
        self._row["sampled"] = len(docs)
        self.layer.add("documents", len(docs))
        if not docs:
            return
        before = self.layer.failure_count
        if spec.table:
            self._compare(spec, docs, context)
        elif spec.keep_whole:
            self._kept_whole(spec, docs)
        self._row["mismatches"] = self.layer.failure_count - before

    def _fail(self, spec: Spec, oid: str, column: str, expected: Any, actual: Any) -> None:
        self.layer.fail(spec.collection, oid, column, expected, actual)

    def _kept_whole(self, spec: Spec, docs: list[dict[str, Any]]) -> None:
        """A collection with no table: each document is its leftover row, verbatim."""
        stored = common.leftovers(spec.collection, [str(raw["_id"]) for raw in docs])
        for raw in docs:
            oid, expected = str(raw["_id"]), to_json(raw)
            self._row["compared"] += 1
            if stored.get(oid) != expected:
                self._fail(spec, oid, LEFTOVERS, expected, stored.get(oid))

    def _compare(self, spec: Spec, docs: list[dict[str, Any]], context: dict[str, Any]) -> None:
        replayed = common.replay(spec, docs, context)
        log = common.logged(spec.collection, [str(raw["_id"]) for raw in docs])
        for oid, (kind, reason) in replayed.not_imported.items():
            # Not converted now: the import must have logged it the same way.
            self.layer.add("not_imported")
            if kind not in log.get(oid, {}):
                actual = ", ".join(f"{k}: {r}" for k, r in log.get(oid, {}).items())
                self._fail(spec, oid, "", f"{kind}: {reason}", actual or "no log line")
        oids = [doc.oid for doc, _ in replayed.rows]
        merged = common.aliases(oids)
        self._check_alias_targets(spec, merged)
        columns = list(
            dict.fromkeys(c for _, row in replayed.rows for c in row if c not in spec.insert_only)
        )
        stored = common.rows_by_legacy_id(
            spec.table, columns, [oid for oid in oids if oid not in merged]
        )
        for doc, row in replayed.rows:
            if doc.oid in merged:
                continue  # its row is the one it was merged into: not this document's to match
            actual = stored.get(doc.oid)
            if actual is None:
                if "failed" in log.get(doc.oid, {}):  # refused by the database, and logged
                    self.layer.add("not_imported")
                else:
                    self._fail(spec, doc.oid, "", "a row with this legacy_id", "no row")
                continue
            self._row["compared"] += 1
            self.layer.add("rows_compared")
            self._columns(spec, spec.table, doc.oid, "", row, actual)
        # As the writer does: rows made from a document come with its own row (a merged one
        # has none), leftovers with any document whose row is in, merged ones included.
        own = [doc for doc, _ in replayed.rows if doc.oid in stored]
        for table in spec.extra_tables:
            self._extra_rows(spec, table, own)
        self._leftovers(spec, [doc for doc, _ in replayed.rows if doc.oid in merged] + own)

    def _columns(
        self,
        spec: Spec,
        table: str,
        oid: str,
        prefix: str,
        expected: dict[str, Any],
        actual: dict[str, Any],
    ) -> None:
        for column, value in expected.items():
            if column in spec.insert_only and table == spec.table:
                continue  # may change after the import by design (a password rehashed)
            self.layer.add("columns_compared")
            if not common.same(table, column, value, actual[column]):
                self._fail(spec, oid, prefix + column, value, actual[column])

    def _check_alias_targets(self, spec: Spec, merged: dict[str, tuple[str, Any]]) -> None:
        by_table: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        for oid, (table, target) in merged.items():
            by_table[table].append((oid, target))
        for table, pairs in by_table.items():
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id FROM {table} WHERE id = ANY(%s)",  # noqa: S608 (Alias rows)
                    [[target for _, target in pairs]],
                )
                found = {pk for (pk,) in cursor.fetchall()}
            for oid, target in pairs:
                self.layer.add("aliases")
                self._row["compared"] += 1
                if target not in found:
                    self._fail(spec, oid, "(alias)", f"a row {target} of {table}", "no such row")

    def _extra_rows(self, spec: Spec, table: str, docs: list[Doc]) -> None:
        """Rows of another table made from the documents (notes): each as converted, and none
        that the conversion does not make. Their legacy_ids are "<ObjectId>:..." (the mappings'
        convention); rows added in minicrm since have none and are not the import's."""
        expected = {
            row["legacy_id"]: (doc.oid, row)
            for doc in docs
            for row in doc.extra_rows.get(table, [])
        }
        columns = list(dict.fromkeys(c for _, row in expected.values() for c in row))
        stored = common.rows_by_legacy_id(table, columns, list(expected)) if expected else {}
        for legacy_id, (oid, row) in expected.items():
            if legacy_id not in stored:
                self._fail(spec, oid, f"{table}[{legacy_id}]", "a row", "no row")
                continue
            self._columns(spec, table, oid, f"{table}[{legacy_id}].", row, stored[legacy_id])
        # Rows of that table hanging off these documents' rows: there must be no more.
        parents = [
            f.column
            for f in common.fields_of(table).values()
            if isinstance(f, models.ForeignKey) and f.related_model._meta.db_table == spec.table
        ]
        if not parents:
            return
        where = " OR ".join(f"{column} = ANY(%s)" for column in parents)
        oids = {doc.oid for doc in docs}
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT legacy_id FROM {table} "  # noqa: S608 (names from the models)
                f"WHERE legacy_id IS NOT NULL AND ({where})",
                [[doc.id for doc in docs]] * len(parents),
            )
            for (legacy_id,) in cursor.fetchall():
                oid = legacy_id.split(":", 1)[0]
                if legacy_id not in expected and oid in oids:
                    self._fail(spec, oid, f"{table}[{legacy_id}]", "no row", "a row")

    def _leftovers(self, spec: Spec, docs: list[Doc]) -> None:
        """The Leftover row is the document's leftovers, and there is none when it has none."""
        stored = common.leftovers(spec.collection, [doc.oid for doc in docs])
        for doc in docs:
            expected = doc.leftovers() or None
            actual = stored.get(doc.oid)
            self.layer.add("columns_compared")
            if not common.same("migrations_mongo_leftover", "data", expected, actual):
                self._fail(spec, doc.oid, LEFTOVERS, expected, actual)
