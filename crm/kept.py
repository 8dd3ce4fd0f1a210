"""What a worker keeps across requests: a small bounded cache (Kept), and queries compiled once
and run again with other keys (kept_rows).

Why kept queries: a detail page's panels and timeline are the same dozen queries on every view
of every record of a kind, for the same viewer, but for the record's key. Django builds and
compiles each again (the visibility rule resolved into it, the fence around it, the columns and
joins): about a third of a company page's Python at 1M contacts. kept_rows compiles such a
query once, with marker keys where the record's keys go, notes where the markers landed among
its parameters, and later runs that SQL with the real keys in their places, building the model
rows as Django's own iterator does (select_related rows and annotations included).
"""

from __future__ import annotations

import datetime as dt
import decimal
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators

from crm.lookups import KeySet

V = TypeVar("V")


class Kept(Generic[V]):
    """A bounded cache shared by the worker's threads, least recently used first out.

    Not functools.lru_cache: the value is made from more than its key (a viewer's rules need
    the viewer, the key holds only its facts), a value the maker declines (None) must not be
    kept, and the tests empty and count it. Not cachetools either: its LRUCache would still
    need this lock and this get-or-make, which is all there is here."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], V | None]) -> V | None:
        """The value kept for `key`, made by make() (outside the lock: two threads may both
        make it, the last one is kept) and kept on a miss; None, not kept, when make() gives
        None. Beyond `size` entries the least recently used go."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
                return value
        value = make()
        if value is not None:
            with self._lock:
                self._entries[key] = value
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def values(self) -> list[V]:
        with self._lock:
            return list(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class _Sql:
    """A query's SQL and parameters, and where the values go among them."""

    sql: str
    params: tuple[Any, ...]
    # (position among the parameters, index of the value that goes there)
    slots: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class _Compiled(_Sql):
    """A model query's kept SQL and what Django's iterator learnt compiling it, read-only."""

    db: str
    select: tuple[Any, ...]
    klass_info: dict[str, Any]
    annotation_col_map: dict[str, int]
    col_count: int
    init_list: tuple[str, ...]
    # select_related rows' builders: they hold only what the select says where to find.
    populators: tuple[Any, ...]


# Every query kept: kept_rows' and kept_sql's, and the visibility checks' (crm.permissions.keys:
# "which of these keys may the user see", a list's rule as SQL). Measured: ~10 KB of SQL and
# parameters an entry on average, up to ~70 KB (a rep's task list check, its watched ids in
# it); 640 entries are ~10-15 MB a worker (docs/deployment.md): twenty viewers' lists, detail
# pages of every kind and searches of one to three words.
compiled: Kept[Any] = Kept(640)
_EMPTY = object()  # what a key whose query matches nothing by construction keeps
_PLAIN = object()  # what a key whose query cannot be kept keeps: it runs as Django would


def kept_rows(
    key: Hashable | None, build: Callable[..., QuerySet], keys: Sequence[uuid.UUID]
) -> list[Model]:
    """The model rows of `build(*keys)`, its SQL compiled at most once per `key` (None:
    compiled every time, as Django would).

    `key` must hold everything the query depends on but `keys` (the viewer's rule facts, the
    record's kind, the shape of what it reads); `keys` are UUIDs (a record's key and foreign
    keys), and build() must use each where a value goes. On a miss build() gets random
    marker UUIDs, whose places among the parameters are noted; a query whose markers come
    out in any other form (as text inside a parameter or the SQL) or not at all (a build()
    that read the real record rather than its stand-in would keep that record's key in the
    SQL), or that is not a query of model rows, is not kept but run as Django would. A query
    Django finds empty by construction (a user who may see no row) gives []."""
    keys = tuple(keys)
    if key is None or not all(isinstance(k, uuid.UUID) for k in keys):
        return _plain(build, keys)

    def compile_() -> _Compiled | object:
        markers = [_marker(k) for k in keys]
        try:
            qs = build(*markers)
            compiler = qs.query.get_compiler(using=qs.db)
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return _EMPTY
        # Only what _run rebuilds: model rows, nothing prefetched afterwards (values() queries
        # also fill klass_info, but their rows are not a model's fields). A reverse manager's
        # known parent is not attached (_run): its rows read it by key if ever asked.
        plain_rows = qs._iterable_class is ModelIterable and not qs._prefetch_related_lookups
        slots = _slots(sql, params, markers)
        if slots is None or not plain_rows or compiler.has_extra_select:
            return _PLAIN  # kept as such: not tried again
        fields = compiler.klass_info["select_fields"]
        return _Compiled(
            sql=sql,
            params=tuple(params),
            slots=slots,
            db=qs.db,
            select=tuple(compiler.select),
            klass_info=compiler.klass_info,
            annotation_col_map=dict(compiler.annotation_col_map),
            col_count=compiler.col_count,
            init_list=tuple(
                col.target.attname for col, *_ in compiler.select[fields[0] : fields[-1] + 1]
            ),
            populators=tuple(get_related_populators(compiler.klass_info, compiler.select, qs.db)),
        )

    entry = compiled.get(key, compile_)
    if entry is _PLAIN:
        return _plain(build, keys)
    if entry is _EMPTY:
        return []
    return _run(entry, keys)


def kept_sql(
    key: Hashable | None,
    build: Callable[..., tuple[str, Sequence[Any]]],
    values: Sequence[uuid.UUID | str | KeySet],
) -> tuple[str, list[Any]]:
    """The SQL and parameters build(*values) gives, compiled at most once per `key`, as
    kept_rows does for model rows: `values` (UUIDs, text such as a search's words, or key
    sets, sent as their array literal) are placed where markers of their type landed among
    the parameters. build() gives ("", []) for nothing to run, kept as such."""
    values = tuple(values)
    if key is None or not all(isinstance(v, uuid.UUID | str | KeySet) for v in values):
        sql, params = build(*values)
        return sql, list(params)

    def compile_() -> _Sql | object:
        markers = [_marker(v) for v in values]
        sql, params = build(*markers)
        if not sql:
            return _EMPTY
        slots = _slots(sql, params, markers)
        return _PLAIN if slots is None else _Sql(sql, tuple(params), slots)

    entry = compiled.get(key, compile_)
    if entry is _EMPTY:
        return "", []
    if entry is _PLAIN:
        sql, params = build(*values)
        return sql, list(params)
    return entry.sql, _placed(entry, values)


def kept_values(
    key: Hashable | None,
    build: Callable[..., QuerySet],
    values: Sequence[uuid.UUID | str | KeySet],
) -> list[dict[str, Any]]:
    """The rows of the values() queryset build(*values), as dicts by column name, its SQL
    compiled at most once per `key` (kept_sql's rules for `key` and `values`). For queries of
    plain columns and aggregates, whose values PostgreSQL's own types carry (no field
    converters run); a user who may see nothing gives []."""

    def sql_of(*given: Any) -> tuple[str, Sequence[Any]]:
        try:
            return build(*given).query.sql_with_params()
        except EmptyResultSet:
            return "", []

    sql, params = kept_sql(key, sql_of, values)
    return dict_rows(sql, params) if sql else []


def dict_rows(sql: str, params: Sequence[Any], using: str = "default") -> list[dict[str, Any]]:
    """The rows of `sql` as dicts by column name."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def as_uuid(value: Any) -> uuid.UUID:
    """`value` as a UUID, as kept queries' keys must be: a key given as text becomes one (a
    ValueError names what is not a key)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _marker(value: uuid.UUID | str | KeySet) -> uuid.UUID | str | KeySet:
    """A random stand-in of `value`'s type: a UUID, a key set of one random key, or a word
    (letters and digits only, so a search splits it into words no differently than one)."""
    marker = uuid.uuid4()
    if isinstance(value, KeySet):
        return KeySet([], [str(marker)])
    return marker if isinstance(value, uuid.UUID) else f"k{marker.hex}"


def _sent(value: Any) -> Any:
    # What a value is among the parameters: a key set is sent as its array literal.
    return value.literal if isinstance(value, KeySet) else value


def _slots(
    sql: str, params: Sequence[Any], markers: Sequence[Any]
) -> tuple[tuple[int, int], ...] | None:
    """(position among `params`, index of the marker there) for every parameter that is a
    marker; None when a marker also went elsewhere (inside another parameter, into the SQL
    text, converted to another type), where putting the real value in its slots would not
    be enough, or nowhere: a build() that ignores one of its values (reads the real record
    instead of its stand-in, or leaves a word out) would run every later value with the
    first one's."""
    sent = [_sent(m) for m in markers]
    slots = tuple(
        (position, index)
        for position, param in enumerate(params)
        for index, marker in enumerate(sent)
        if type(param) is type(marker) and param == marker
    )
    texts = []
    for m in markers:
        if isinstance(m, KeySet):
            texts.append(m.literal[1:-1])  # its one key's text, wherever it went
        else:
            texts.append(str(m))
            if isinstance(m, uuid.UUID):
                texts.append(m.hex)
    if {index for _, index in slots} != set(range(len(markers))):
        return None
    placed = {position for position, _ in slots}
    if _holds(sql, texts) or any(
        _holds(param, texts) for n, param in enumerate(params) if n not in placed
    ):
        return None
    return slots


def _placed(entry: _Sql, values: Sequence[Any]) -> list[Any]:
    params = list(entry.params)
    for position, index in entry.slots:
        params[position] = _sent(values[index])
    return params


def stand_in(record: Model, keys: dict[str, Any]) -> Model:
    """`record` as a kept query's build() should see it: only the fields in `keys` (its key,
    the foreign keys the query is chosen by), the others deferred. A query reading any other
    field loads it by the (marker) key and fails, loudly, rather than putting this record's
    value into the SQL every record of its kind is then read with."""
    names = list(keys)
    return type(record).from_db(record._state.db, names, [keys[name] for name in names])


def _plain(build: Callable[..., QuerySet], keys: tuple[Any, ...]) -> list[Model]:
    try:
        return list(build(*keys))
    except EmptyResultSet:  # raised while building (a subquery compiled into raw SQL)
        return []


# Parameter types that cannot carry a marker's text; any other (a dict, a set, a JSON
# adapter...) is assumed to, and the query is not kept.
_INERT = (int, float, decimal.Decimal, dt.date, dt.time, dt.timedelta, type(None))


def _holds(value: Any, texts: list[str]) -> bool:
    """Whether `value` may carry a marker other than as itself, a parameter of its own (in
    any case of its letters)."""
    if isinstance(value, uuid.UUID):
        return str(value) in texts
    if isinstance(value, str | bytes):
        text = (value if isinstance(value, str) else value.decode("latin-1")).lower()
        return any(t.lower() in text for t in texts)
    if isinstance(value, list | tuple):
        return any(_holds(v, texts) for v in value)
    return not isinstance(value, _INERT)


def _run(c: _Compiled, keys: tuple[uuid.UUID, ...]) -> list[Model]:
    """Django's ModelIterable over the kept SQL: the same row conversions, model instances,
    select_related rows and annotations (without known related objects: a reverse manager's
    rows get their parent by foreign key, read when asked)."""
    params = _placed(c, keys)
    db = c.db
    connection = connections[db]
    with connection.cursor() as cursor:
        cursor.execute(c.sql, params)
        rows = cursor.fetchall()
    # A compiler only to convert the rows: what it needs is the kept select, not the query.
    compiler = connection.ops.compiler("SQLCompiler")(None, connection, db)
    compiler.select, compiler.klass_info = list(c.select), c.klass_info
    compiler.annotation_col_map, compiler.col_count = c.annotation_col_map, c.col_count
    compiler.has_extra_select = False
    model = c.klass_info["model"]
    start = c.klass_info["select_fields"][0]
    end = start + len(c.init_list)
    objs = []
    for row in compiler.results_iter([rows]):
        obj = model.from_db(db, c.init_list, row[start:end])
        for populator in c.populators:
            populator.populate(row, obj)
        for name, column in c.annotation_col_map.items():
            setattr(obj, name, row[column])
        objs.append(obj)
    return objs
