"""One source document on its way to a row: what was read from it, what could not be stored as
it was, and what is left over.

A mapping (mapping/*.py) reads fields through `Doc`, which remembers every field it touched.
Whatever the mapping did not read, and every value it could not convert, ends in the document's
leftovers (the `Leftover` table) with its original type, so the import loses nothing even where
minicrm has no column for a NextCRM field.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bson import json_util
from bson.json_util import JSONMode, JSONOptions

from . import convert
from .convert import Unconvertible

# Relaxed extended JSON: ObjectIds as {"$oid": ...}, dates as {"$date": "...Z"}, so a leftover
# keeps its BSON type and `bson.json_util.loads` gives the original value back.
_JSON = JSONOptions(json_mode=JSONMode.RELAXED, tz_aware=True)

# Deterministic row keys: the same ObjectId becomes the same UUID in every run, so a row's id is
# known before it is written (a contact's notes can point at it in the same batch) and an import
# repeated into an empty database gives the same keys.
NAMESPACE = uuid.UUID("6f0c1f5e-3b1a-4c8e-9a55-2f6b0c6a9d10")

# Fields that are never data: the key itself and Mongoose/Prisma's version counter (schema
# doc section 3: "no business meaning").
NOT_DATA = frozenset({"_id", "__v"})


def article(noun: str) -> str:
    """'an industry', 'a user': log lines are read by people. By sound, not spelling: the one
    kind starting with a u (mapping.spec.KIND_TABLES) is "user", which takes "a"."""
    return f"{'an' if noun[0] in 'aeio' else 'a'} {noun}"


def row_id(object_id: str, salt: str = "") -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{object_id}{salt}")


def to_json(value: Any) -> Any:
    """A BSON value as JSON-ready data (ObjectId, datetime, bytes in extended JSON)."""
    return json.loads(json_util.dumps(value, json_options=_JSON))


class Skip(Exception):
    """The document is not imported; `kind` says whether by rule (skipped) or by error."""

    def __init__(self, reason: str, *, field: str = "", kind: str = "skipped") -> None:
        super().__init__(reason)
        self.reason, self.field, self.kind = reason, field, kind


@dataclass
class Issue:
    field: str
    kind: str
    reason: str
    value: Any = None


class Resolved(Mapping[str, Mapping[str, uuid.UUID]]):
    """Reference targets of one batch: kind ("user", "company", ...) -> ObjectId -> row id."""

    def __init__(self, by_kind: dict[str, dict[str, uuid.UUID]]) -> None:
        self._by_kind = by_kind

    def __getitem__(self, kind: str) -> Mapping[str, uuid.UUID]:
        return self._by_kind.get(kind, {})

    def __iter__(self):
        return iter(self._by_kind)

    def __len__(self) -> int:
        return len(self._by_kind)


@dataclass
class Doc:
    collection: str
    raw: dict[str, Any]
    resolved: Resolved
    # The spec's declared reference fields (field -> kind) and what its prepare() read.
    declared: Mapping[str, str] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    kept: dict[str, Any] = field(default_factory=dict)
    links: list[tuple[str, str, str]] = field(default_factory=list)
    extra_rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _used: set[str] = field(default_factory=lambda: set(NOT_DATA))

    @property
    def oid(self) -> str:
        return str(self.raw["_id"])

    @property
    def id(self) -> uuid.UUID:
        return row_id(self.oid)

    # --- reading ---------------------------------------------------------------------------

    def take(self, *names: str) -> Any:
        """The first non-blank of these fields (a field and its older or misspelled twins,
        Q6/Q7). A twin holding a different value is kept in the leftovers, not dropped."""
        if len(names) == 1:  # the common case, without the loop
            self._used.add(names[0])
            value = self.raw.get(names[0])
            return None if convert.blank(value) else value
        self._used.update(names)
        chosen, chosen_name = None, ""
        for name in names:
            value = self.raw.get(name)
            if convert.blank(value):
                continue
            if chosen_name == "":
                chosen, chosen_name = value, name
            elif value != chosen:
                self.kept[name] = value
        return chosen

    def get(
        self,
        names: str | tuple[str, ...],
        conversion: Callable[..., Any],
        *args: Any,
        default: Any = None,
        **kwargs: Any,
    ) -> Any:
        """A converted field; an unconvertible value is logged and kept, and `default` used."""
        names = (names,) if isinstance(names, str) else names
        value = self.take(*names)
        if value is None:
            return default
        try:
            result = conversion(value, *args, **kwargs)
        except Unconvertible as error:
            self.lossy(names[0], value, str(error))
            return default
        return default if result is None else result

    def text(self, *names: str, max_length: int | None = None) -> str:
        return self.get(names, convert.text, max_length, default="")

    def lossy(self, name: str, value: Any, reason: str) -> None:
        """A value that did not fit its column: logged, and kept as it was."""
        self.kept[name] = value
        self.warn(name, f"{reason}; kept in the leftovers", value)

    def warn(self, name: str, reason: str, value: Any = None) -> None:
        self.issues.append(Issue(name, "warning", reason, to_json(value)))

    def ref(
        self,
        names: str | tuple[str, ...],
        kind: str,
        *,
        fallback: tuple[str, uuid.UUID | None] = ("", None),
    ) -> uuid.UUID | None:
        """The row id a reference points at: the first of a field and its twins (Q6/Q7) that
        points at an imported row, else `fallback` ((field, row id) of a reference read before),
        else None. Mongo has no foreign keys, so references dangle (Q5): a twin that points at
        nothing imported is logged and its raw value kept in the leftovers."""
        names = (names,) if isinstance(names, str) else names
        self._check_declared(names, kind)
        self._used.update(names)
        target, used, chosen = None, "", None
        dangling: list[tuple[str, Any]] = []
        for name in names:
            value = self.raw.get(name)
            if convert.blank(value):
                continue
            if target is not None:
                if value != chosen:  # a twin holding another value is kept, as take() does
                    self.kept[name] = value
                continue
            oid = self._reference(name, value)
            if oid is None:
                continue
            target = self.resolved[kind].get(oid)
            if target is None:
                self.kept[name] = value
                dangling.append((name, value))
            else:
                used, chosen = name, value
        if target is None and fallback[1] is not None:
            used, target = fallback
        # Logged once the outcome is known, so the line says what the row got instead.
        outcome = f"{used} used instead" if target is not None else "set to empty"
        for name, value in dangling:
            missing = f"points at {article(kind)} that is not in the import; {outcome}"
            self.warn(name, missing, value)
        return target

    def _reference(self, name: str, value: Any) -> str | None:
        """The ObjectId a reference field holds. crm_Contacts.accountsIDs was briefly an array
        (Q1): its first entry is the link, the array is kept whole, and an entry that is not an
        ObjectId is dropped from it and logged."""
        valid, invalid = convert.split_object_ids(value)
        if not isinstance(value, list):
            if invalid:
                self.lossy(name, value, "not an ObjectId")
        elif len(value) > 1 or invalid:
            self.kept[name] = value  # the entries after the link have no column
            if invalid:
                self.warn(
                    name, "entries that are not ObjectIds left out; kept in the leftovers", invalid
                )
        return valid[0] if valid else None

    def peek_ref(self, names: tuple[str, ...], kind: str) -> uuid.UUID | None:
        """Where a reference points, without reading the field (it stays in the leftovers)."""
        self._check_declared(names, kind)
        for name in names:
            try:
                oid = convert.object_id(self.raw.get(name))
            except Unconvertible:
                continue
            if oid and oid in self.resolved[kind]:
                return self.resolved[kind][oid]
        return None

    def _check_declared(self, names: tuple[str, ...], kind: str) -> None:
        # References are fetched per batch from the spec's declaration: one read here that is
        # not declared there would look dangling for every document.
        for name in names:
            if self.declared.get(name) != kind:
                raise LookupError(f"{self.collection}.{name} is not declared as a {kind} ref")

    def link(self, name: str, link: str, *, owner_side: bool) -> None:
        """Queue this document's side of a many-to-many link (resolved after every collection
        is in, from both sides' arrays: Q4)."""
        value = self.take(name)
        # One entry that is not an ObjectId costs only itself: the valid ones still link.
        others, invalid = convert.split_object_ids(value)
        if invalid:
            self.lossy(name, value if not others else invalid, "not ObjectIds")
        for other in others:
            pair = (self.oid, other) if owner_side else (other, self.oid)
            self.links.append((link, *pair))

    def add_row(self, table: str, row: dict[str, Any]) -> None:
        """A row of another table made from this document (a contact's notes)."""
        self.extra_rows.setdefault(table, []).append(row)

    # --- the rest --------------------------------------------------------------------------

    def leftovers(self) -> dict[str, Any]:
        """Fields no mapping read, and values kept because they did not fit."""
        text = self.leftovers_json()
        return json.loads(text) if text else {}

    def leftovers_json(self) -> str:
        """The leftovers as extended JSON text ("" when there are none): what the writer
        stores, without a round trip through Python objects for every document."""
        rest = {k: v for k, v in self.raw.items() if k not in self._used}
        rest.update(self.kept)
        return json_util.dumps(rest, json_options=_JSON) if rest else ""
