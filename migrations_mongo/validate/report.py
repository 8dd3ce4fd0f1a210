"""What the validator found: one `Layer` per check, each with its counts and a bounded list of
concrete failures, rendered as text for the operator and as JSON for a machine."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TextIO

# Enough examples to see a pattern, few enough that a million mismatches stay a short report.
EXAMPLES = 20
_MAX_VALUE = 200


def jsonable(value: Any) -> Any:
    """A value as plain JSON data (dates as ISO text, decimals and UUIDs as text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    return str(value)


def shown(value: Any) -> str:
    """A value for the text report: as JSON (so '' and None differ), cut to a line."""
    text = json.dumps(jsonable(value), ensure_ascii=False)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


@dataclass
class Failure:
    collection: str  # the source collection, or the table for checks made in PostgreSQL
    object_id: str  # the document's ObjectId (or the row's key when it has none)
    column: str
    expected: Any
    actual: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "object_id": self.object_id,
            "column": self.column,
            "expected": jsonable(self.expected),
            "actual": jsonable(self.actual),
        }


@dataclass
class Layer:
    key: str
    title: str
    counts: dict[str, int] = field(default_factory=dict)
    # The layer's tables in the report, by name: one dict per collection, table or link.
    details: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    failure_count: int = 0

    @property
    def passed(self) -> bool:
        return self.failure_count == 0

    def row(self, table: str, /, **values: Any) -> dict[str, Any]:
        """A new row of one of the layer's tables (filled in by the caller as it counts)."""
        row = dict(values)
        self.details.setdefault(table, []).append(row)
        return row

    def add(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def fail(
        self, collection: str, object_id: str, column: str, expected: Any, actual: Any
    ) -> None:
        self.failure_count += 1
        if len(self.failures) < EXAMPLES:
            self.failures.append(Failure(collection, object_id, column, expected, actual))

    def more(self, count: int) -> None:
        """Failures found by a count, beyond the examples listed."""
        self.failure_count += count

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "status": "pass" if self.passed else "fail",
            "counts": self.counts,
            "failure_count": self.failure_count,
            "failures": [f.as_dict() for f in self.failures],
            "details": jsonable(self.details),
        }


@dataclass
class Report:
    source: str
    seed: int
    sample: int
    layers: list[Layer] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(layer.passed for layer in self.layers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "seed": self.seed,
            "sample": self.sample,
            "status": "pass" if self.passed else "fail",
            "unknown_collections": self.unknown,
            "layers": {layer.key: layer.as_dict() for layer in self.layers},
        }

    def write_text(self, out: TextIO) -> None:
        out.write(f"Validating the import of {self.source}\n")
        out.write(f"seed {self.seed} (repeat with --seed {self.seed}), sample {self.sample}\n")
        for number, layer in enumerate(self.layers, start=1):
            status = "PASS" if layer.passed else f"FAIL ({layer.failure_count:,} failures)"
            out.write(f"\n{number}. {layer.title}: {status}\n")
            counts = ", ".join(
                f"{name.replace('_', ' ')} {n:,}" for name, n in layer.counts.items()
            )
            out.write(f"   {counts}\n")
            for rows in layer.details.values():
                _write_details(out, rows)
            if layer.key == "counts":
                for name in self.unknown:
                    out.write(f"   {name:<32} not a NextCRM collection: not imported\n")
            for failure in layer.failures:
                out.write(
                    f"   ✗ {failure.collection} {failure.object_id} {failure.column or '-'}: "
                    f"expected {shown(failure.expected)}, got {shown(failure.actual)}\n"
                )
            if layer.failure_count > len(layer.failures):
                out.write(f"   … and {layer.failure_count - len(layer.failures):,} more\n")
        verdict = "PASS" if self.passed else "FAIL"
        failed = [layer.key for layer in self.layers if not layer.passed]
        out.write(f"\nResult: {verdict}{' (' + ', '.join(failed) + ')' if failed else ''}\n")


def _write_details(out: TextIO, rows: Iterable[dict[str, Any]]) -> None:
    rows = list(rows)
    if not rows:
        return
    columns = list(rows[0])
    widths = {
        c: max(len(c), *(len(_cell(row.get(c))) for row in rows)) for c in columns if c != "note"
    }
    out.write("   " + "  ".join(c.ljust(w) for c, w in widths.items()) + "\n")
    for row in rows:
        cells = [
            _cell(row.get(c)).ljust(w) if i == 0 else _cell(row.get(c)).rjust(w)
            for i, (c, w) in enumerate(widths.items())
        ]
        note = f"  {row['note']}" if row.get("note") else ""
        out.write("   " + "  ".join(cells) + note + "\n")


def _cell(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)
