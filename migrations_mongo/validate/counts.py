"""Layer 1, counts: every source document is accounted for.

Each document of the source is imported (its ObjectId is a row's legacy_id in its spec's table,
or an Alias: merged into another row) or logged as skipped or failed with a reason. One that is
neither was lost; one that failed was not imported either, so both fail the layer. Collections
without a table are skipped by rule (the spec's reason); those kept whole must each have their
leftover row. Read batch by batch: three index lookups per batch, whatever the source's size.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from migrations_mongo.mapping import Spec

from . import common
from .report import Layer

# Distinct skip reasons kept per collection: reasons can embed values, so they are capped.
_REASONS = 50


class Counts:
    def __init__(self) -> None:
        self.layer = Layer("counts", "Counts per collection")
        for name in ("collections", "documents", "imported", "skipped", "failed", "missing"):
            self.layer.counts[name] = 0
        self._row: dict[str, Any] = {}
        self._reasons: Counter[str] = Counter()

    def start(self, spec: Spec) -> None:
        self._row = self.layer.row(
            "collections",
            collection=spec.collection,
            source=0,
            imported=0,
            skipped=0,
            failed=0,
            missing=0,
            note=spec.skip_reason,
        )
        self._reasons = Counter()

    def feed(self, spec: Spec, docs: list[dict[str, Any]], _context: dict[str, Any]) -> None:
        oids = [str(raw["_id"]) for raw in docs]
        self._row["source"] += len(oids)
        if not spec.table:
            self._by_rule(spec, oids)
            return
        imported = common.present(spec.table, oids) | common.aliases(oids).keys()
        log = common.logged(spec.collection, oids)
        for oid in oids:
            kinds = log.get(oid, {})
            if "failed" in kinds:
                # Failed wins over a row: a row left by an earlier run is not this document.
                self._count("failed")
                self.layer.fail(spec.collection, oid, "", "imported", f"failed: {kinds['failed']}")
            elif oid in imported:
                self._count("imported")
            elif "skipped" in kinds:
                self._count("skipped")
                if len(self._reasons) < _REASONS or kinds["skipped"] in self._reasons:
                    self._reasons[kinds["skipped"]] += 1
            else:
                self._count("missing")
                self.layer.fail(
                    spec.collection,
                    oid,
                    "",
                    "imported, or logged as skipped or failed",
                    "no row, no alias, no log line",
                )

    def _by_rule(self, spec: Spec, oids: list[str]) -> None:
        self._count("skipped", len(oids))
        if not spec.keep_whole:
            return
        kept = common.leftovers(spec.collection, oids).keys()
        for oid in oids:
            if oid not in kept:
                self.layer.add("leftovers_missing")
                self.layer.fail(
                    spec.collection, oid, "", "kept whole in the leftovers", "no leftover row"
                )

    def _count(self, name: str, amount: int = 1) -> None:
        self._row[name] += amount
        self.layer.add(name, amount)

    def finish(self, spec: Spec, _context: dict[str, Any]) -> None:
        self.layer.add("collections")
        self.layer.add("documents", self._row["source"])
        if spec.table and self._reasons:
            top = "; ".join(f"{reason} ({n:,})" for reason, n in self._reasons.most_common(3))
            self._row["note"] = f"skipped: {top}"
