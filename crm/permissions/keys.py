"""Which of these rows or keys a user may see or change: the checks a page makes about rows it
has already read (its related records' names, its rows' edit boxes), each in at most one
query. Part of crm.permissions, which re-exports them; the rules themselves are in rules.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import BooleanField, F, Model, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import JSONObject

from crm.kept import as_uuid, compiled, kept_sql
from crm.lookups import KeySet
from crm.permissions.rules import _RULES, EDIT, VIEW, _rule
from crm.permissions.viewer import _viewer


def governs(model: type[Model]) -> bool:
    """Whether the visibility layer decides who sees rows of `model` (a record, a board, a
    note...). Rows of any other model (users, lookups such as stages) are not secret."""
    return model._meta.concrete_model in _RULES


def _owns(v: Any, obj: Model) -> bool:
    """Whether `obj` is the viewer's own (a manager's: their team's). A grant without a query
    for any action: every rule of a model with an owner starts from the owner rule
    (rules._owner_q), of which this is an exact subset. Never true for rows without an owner
    of their own (notes, comments, sections), whose rules follow their parent.

    `obj` must be the row as read: the grant applies to the stored row of that key. The owner
    is taken only if it was loaded (a deferred owner_id would cost a query per row): without
    it, the caller's query decides."""
    return _owner_is(v, obj.__dict__.get("owner_id"))


def _owner_is(v: Any, owner_id: Any) -> bool:
    # _owns for a row's owner id as read.
    return owner_id is not None and (owner_id == v.id or (v.is_manager and owner_id in v.team_ids))


def visible_ids(user: Any, model: type[Model], ids: Iterable[Any]) -> set[Any]:
    """Which of these primary keys of `model` name rows `user` may see: one query for all of
    them (none for an admin, an ungoverned model or no ids). What a page uses to decide
    which related records it may name: an id not in the set is shown as hidden."""
    return visible_ids_each(user, [(model, ids)])[0]


def visible_ids_each(user: Any, wanted: list[tuple[type[Model], Iterable[Any]]]) -> list[set[Any]]:
    """visible_ids for several (model, keys) pairs at once, in order: one query for all of
    them (a UNION ALL, each arm filtered by its model's rule), none for an admin."""
    found = visible_rows_each(user, [(model, ids, ()) for model, ids in wanted])
    return [set(rows) for rows in found]


def visible_rows_each(
    user: Any, wanted: list[tuple[type[Model], Iterable[Any], Sequence[str]]]
) -> list[dict[Any, dict[str, Any]]]:
    """For several (model, keys, fields) at once, in order: each key `user` may see, with the
    values of `fields` (paths such as "name" or "board__title", as JSON: text and keys) of its
    row. One query for all of them (a UNION ALL, each arm filtered by its model's rule); none
    when no fields are asked and the user is an admin or the models are not governed. A list
    page asks this about the records its rows point at (five models for tasks), and names
    them from it."""
    found: list[dict[Any, dict[str, Any]]] = [{} for _ in wanted]
    v = _viewer(user)
    if v is None:
        return found
    with_fields = any(fields for _, _, fields in wanted)
    shape, keysets = [], []
    for n, (model, ids, fields) in enumerate(wanted):
        keys = frozenset(pk for pk in ids if pk is not None)
        if not keys:
            continue
        free = v.is_admin or not governs(model)  # no rule to apply
        if free and not with_fields:
            found[n] = {key: {} for key in keys}
            continue
        shape.append((n, model._meta.concrete_model, tuple(fields), free))
        keysets.append(keys)
    if not shape:
        return found

    def build(markers: list[KeySet]) -> QuerySet:
        arms = []
        for (n, model, fields, free), marker in zip(shape, markers, strict=True):
            rows = model._default_manager.filter(pk__any=marker)
            if not free:
                rows = rows.filter(_rule(v, model, VIEW))
            rows = rows.order_by().annotate(arm=Value(n))
            if with_fields:
                data = JSONObject(**{path: F(path) for path in fields})
                arms.append(rows.annotate(data=data).values_list("arm", "pk", "data"))
            else:
                arms.append(rows.values_list("arm", "pk"))
        return arms[0].union(*arms[1:], all=True)

    key = (VIEW, with_fields, tuple(shape))
    for n, pk, *data in _keyed_rows(v, key, build, keysets):
        found[n][pk] = _json(data[0]) if data else {}
    return found


def related_row(model: type[Model], pk: Any, data: dict[str, Any], using: str | None) -> Model:
    """A `model` row as the database would give it: its key and `data` (fields and, as
    "relation__field", its own related row's), the other fields deferred. `data` is what
    visible_rows_each gives for a key."""
    values: dict[str, Any] = {model._meta.pk.attname: pk}
    nested: dict[str, dict[str, Any]] = {}
    for path, value in data.items():
        head, _, rest = path.partition("__")
        if rest:
            nested.setdefault(head, {})[rest] = value
            continue
        field = model._meta.get_field(head)
        values[field.attname] = field.to_python(value)
    fields = model._meta.concrete_fields
    names = [f.attname for f in fields if f.attname in values]
    obj = model.from_db(using, names, [values[name] for name in names])
    for head, sub in nested.items():
        field = model._meta.get_field(head)
        key = getattr(obj, field.attname)  # its key must be among the fields read
        if key is not None:
            field.set_cached_value(obj, related_row(field.related_model, key, sub, using))
    return obj


def visible_names(
    user: Any, model: type[Model], keys: Iterable[Any], field: str = "name"
) -> dict[Any, Any]:
    """`field` of each of these `model` rows that `user` may see, by key, in one query
    (visible_rows_each); a row the user may not see is absent. What search hits and
    type-ahead options name their company with, read for the few shown."""
    (rows,) = visible_rows_each(user, [(model, keys, (field,))])
    return {pk: data[field] for pk, data in rows.items()}


def _json(value: Any) -> dict[str, Any]:
    # Django reads jsonb as text (JSONField parses it); a raw cursor gets that text.
    return value if isinstance(value, dict) else json.loads(value)


def _keyed_rows(
    v: Any, shape: tuple[Any, ...], build: Callable[[list[KeySet]], QuerySet], keysets: list
) -> list[tuple[Any, ...]]:
    """The rows of build(keysets), its SQL compiled at most once per (v's facts, shape).

    Why: the keyed checks (visible_rows_each, editable_ids: "rows of these models among these
    keys that the viewer may see / change") differ from page to page only in the keys, and
    compiling them (each model's rule resolved and written out) was more than half of such a
    check: 3.3 of 5.4 ms for the task list's five related models at 1M contacts, 1.4 of 2.9 ms
    for its edit check. crm.kept.kept_sql compiles with marker key sets and puts each use's
    key sets' literals in their places; kept with the detail pages' and searches' queries."""
    key = (v.rules_key(), shape)
    sets = [KeySet(list(keys), [_uuid_text(k) for k in keys]) for keys in keysets]
    sql, params = kept_sql(key, lambda *s: build(list(s)).query.sql_with_params(), sets)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _uuid_text(key: Any) -> str:
    # Each key as a UUID's text: a string with a comma or a brace would otherwise add elements
    # of its own to the array literal (a ValueError names a key that is not a UUID).
    return str(as_uuid(key))


def rule_condition(v: Any, model: type[Model], action: str) -> RawSQL | None:
    """`model`'s rule for `action` and viewer `v` as SQL compiled once per viewer's facts, to
    filter the top of a row query by (permissions.listed_to); None when its SQL is not the
    plain one-table WHERE this expects (it is then filtered the usual way).

    Why: the rule of a document (20 probe subqueries, one holding the task rule) cost 3.1 ms to
    resolve and 5.1 ms more to compile into a list page's row query at 1M contacts, on every
    page; the kept Q (rules._memo) saves only building it. The SQL reads the row's columns by
    the table's own name, which is the row query's base alias: right at the top of a query,
    wrong if the query became a subquery (Django renames the aliases of a subquery, not
    those inside raw SQL), which is why only listed_to uses it."""

    def compile_() -> tuple[str, tuple[Any, ...]] | None:
        rows = model._default_manager.filter(_rule(v, model, action)).order_by().values("pk")
        sql, params = rows.query.sql_with_params()
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        head = f'SELECT {table}.{quote(model._meta.pk.column)} AS "pk" FROM {table} WHERE '  # noqa: S608 (compared, not run)
        return (sql[len(head) :], tuple(params)) if sql.startswith(head) else None

    kept = compiled.get((v.facts(), ("condition", model, action)), compile_)
    if kept is None:
        return None
    condition, params = kept
    return RawSQL(condition, params, output_field=BooleanField())  # noqa: S611 (ORM-compiled)


def viewable(user: Any, objs: Iterable[Model]) -> set[tuple[type[Model], Any]]:
    """(model, pk) of the loaded rows `user` may see, as can_view decides for each, in at most
    one query per model: rows the user (or a manager's team) owns are granted without one."""
    v = _viewer(user)
    if v is None:
        return set()
    granted: set[tuple[type[Model], Any]] = set()
    rest: dict[type[Model], list[Any]] = {}
    for obj in objs:
        model = type(obj)
        if v.is_admin or not governs(model) or _owns(v, obj):
            granted.add((model, obj.pk))
        else:
            rest.setdefault(model, []).append(obj.pk)
    for model, pks in rest.items():
        granted |= {(model, pk) for pk in visible_ids(user, model, pks)}
    return granted


def editable_ids(user: Any, objs: Iterable[Model]) -> set[Any]:
    """Which of these rows `user` may change, in at most one query: edit buttons on a list
    page, and the check of every selected row in a bulk action. Rows the user (or a manager's
    team) owns are granted without one (_owns): a rep's first page of contacts or deals, a
    manager's of documents, asks nothing."""
    objs = list(objs)
    if not objs:
        return set()
    model = type(objs[0])._meta.concrete_model
    return editable_keys(user, model, {obj.pk: obj.__dict__.get("owner_id") for obj in objs})


def editable_keys(user: Any, model: type[Model], owners: dict[Any, Any]) -> set[Any]:
    """editable_ids for `model` rows read as values, by key: `owners` maps each row's key to
    its owner id as read (None when not read), the pipeline board's cards."""
    v = _viewer(user)
    if not owners or v is None:
        return set()
    granted = {pk for pk, owner_id in owners.items() if v.is_admin or _owner_is(v, owner_id)}
    rest = frozenset(owners) - granted
    if rest:

        def build(markers: list[KeySet]) -> QuerySet:
            rows = model._default_manager.filter(_rule(v, model, EDIT), pk__any=markers[0])
            return rows.values_list("pk")

        granted |= {pk for (pk,) in _keyed_rows(v, (EDIT, model), build, [rest])}
    return granted
