"""The one list engine: filter, sort and page a queryset as a list spec allows.

    form = ListFilterForm(spec=spec, ctx=ctx, data=request.GET)
    page = run(spec, visible_queryset, form, ctx, after=..., before=...)

Counting never runs an exact COUNT(*) over a big table: EstimatedCountPaginator asks the
planner first and counts exactly (with a bound) only below ESTIMATED_COUNT_THRESHOLD rows, so
the page says "about 1,204,000" on a million rows and "37" on a small team's list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connections
from django.db.models import BooleanField, Case, F, Model, QuerySet, Value, When

from crm import permissions
from crm.fence import first_rows
from crm.forms.lists import DEFAULT_PER_PAGE, ListFilterForm
from crm.lists import keyset
from crm.lists.filters import FilterContext, SearchFilter
from crm.lists.spec import ListSpec
from crm.pagination import EstimatedCountPaginator, Planned, is_unfiltered, planned_rows

# A task's "About" column reads the record it hangs off, or its board through its section.
RECORD_RELATIONS = ("company", "contact", "lead", "deal", "section")
_VISIBLE_PREFIX = "list_visible_"


def visible_attr(relation: str) -> str:
    """The row attribute saying whether the user may see the record `relation` points at
    (missing: nothing to hide, e.g. for an admin)."""
    return f"{_VISIBLE_PREFIX}{relation}"


def governed_relations(spec: ListSpec) -> list[Any]:
    """The foreign keys to governed records (crm.permissions) that the spec's columns name:
    `company` of a `company.name` column, the parents of a task's "About" column."""
    names: list[str] = []
    for column in spec.columns:
        if column.kind == "record":
            names += RECORD_RELATIONS
        elif "." in column.attr:
            names.append(column.attr.split(".", 1)[0])
    fields = []
    for name in dict.fromkeys(names):
        try:
            f = spec.model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if f.many_to_one and permissions.governs(f.related_model):
            fields.append(f)
    return fields


def visibility_annotations(spec: ListSpec, user: Any) -> dict[str, Any]:
    """One boolean per governed relation the columns show, computed in the row query itself
    (a correlated EXISTS per returned row, crm.permissions.visible_fk): no query per row,
    none per page beyond the ids the rule reads (cached per request). Empty for an admin.
    For a streamed export, whose rows never sit in memory together; a list page labels its
    rows after reading them (attach_relations)."""
    annotations = {}
    for f in governed_relations(spec):
        condition = permissions.visible_fk(user, f.related_model, f.attname)
        if condition is not None:
            annotations[visible_attr(f.name)] = Case(
                When(condition, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
    return annotations


def _read_after(spec: ListSpec) -> dict[str, list[str]]:
    """Governed relations the columns name (governed_relations) whose shown fields the spec's
    `only` lists: relation -> those fields' paths from the related model ("name",
    "board__title"). Their rows are read after the page's (attach_relations), not joined."""
    paths: dict[str, list[str]] = {}
    for f in governed_relations(spec):
        prefix = f"{f.name}__"
        shown = [p.removeprefix(prefix) for p in spec.only if p.startswith(prefix)]
        if shown:
            paths[f.name] = shown
    return paths


def row_query_shape(spec: ListSpec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(select_related, only) of the page's row query: the spec's, less the relations read
    after the rows (_read_after), whose keys alone the rows keep."""
    after = _read_after(spec)
    joined = tuple(r for r in spec.select_related if r.split("__", 1)[0] not in after)
    only = tuple(p for p in spec.only if p.split("__", 1)[0] not in after or "__" not in p)
    return joined, only


def attach_relations(spec: ListSpec, user: Any, rows: list[Model]) -> None:
    """For every governed relation the columns show, in one query for the page's keys of all
    of them (permissions.visible_rows_each): set visible_attr(relation) on each row, False
    where it points at a record `user` may not see (its name is then not shown), and give
    each row its visible related records with the fields the columns show (only those; the
    rest deferred), as select_related would have.

    Why not joined in the row query: the visibility query reads those rows anyway, and the
    task list's eight joins made PostgreSQL search join orders (14-20 ms a page, so it was
    read in a transaction of its own with join_collapse_limit = 1: three more round trips)
    and Django compile and build a related instance per join and row. Nor tested in the row
    query (visibility_annotations): the task list's five relations each compiled the related
    model's rule into it and ran a subquery per row (12,000 of 125,000 calls a page)."""
    fields = governed_relations(spec)
    if not fields or not rows:
        return
    after = _read_after(spec)
    wanted = [
        (f.related_model, {getattr(row, f.attname) for row in rows}, after.get(f.name, ()))
        for f in fields
    ]
    using = rows[0]._state.db
    for f, visible in zip(fields, permissions.visible_rows_each(user, wanted), strict=True):
        name = visible_attr(f.name)
        read = f.name in after
        made: dict[Any, Model] = {}
        for row in rows:
            key = getattr(row, f.attname)
            if key is None:
                continue
            data = visible.get(key)
            setattr(row, name, data is not None)
            if read and data is not None:
                if key not in made:
                    made[key] = permissions.related_row(f.related_model, key, data, using)
                f.set_cached_value(row, made[key])


@dataclass
class ListPage:
    """One page of a list, with what the template needs to link onwards."""

    rows: list[Model]
    order: keyset.SortOrder
    per_page: int
    count: int
    count_is_estimated: bool
    next_cursor: str | None
    prev_cursor: str | None
    # No usable count (a sample too thin to scale, crm.pagination): `count` is the rows shown,
    # and the page says there are more than that.
    count_is_floor: bool = False

    @property
    def is_first(self) -> bool:
        return self.prev_cursor is None


def sort_order(spec: ListSpec, value: str | None) -> keyset.SortOrder:
    """The allow-listed sort for `?sort=`; anything else is the spec's default."""
    key = value if value and value.lstrip("-") in spec.sorts else spec.default_sort
    return keyset.resolve(spec.model, key, spec.sorts[key.lstrip("-")])


def filtered(spec: ListSpec, qs: QuerySet, form: ListFilterForm, ctx: FilterContext) -> QuerySet:
    """`qs` narrowed by every filter whose parameters the form accepted."""
    values = form.values
    for flt in form.filters:
        qs = flt.apply(qs, values, ctx)
    return qs


def paginate(
    spec: ListSpec,
    qs: QuerySet,
    order: keyset.SortOrder,
    *,
    per_page: int = DEFAULT_PER_PAGE,
    after: str | None = None,
    before: str | None = None,
    guarded: bool = False,
    user: Any = None,
) -> ListPage:
    """One keyset page of the filtered queryset `qs`: the rows, then the estimate or a small
    count unless the rows are all there is (a first page without a next one), whatever the
    page number. `guarded`: a filter PostgreSQL may misjudge (a text search) narrows `qs`,
    so the rows are read by crm.fence.first_rows, which cannot run away. `user`: the viewer
    `qs` is visible to, whose visibility rule decides how the rows are counted."""
    joined, only = row_query_shape(spec)
    rows_qs = qs.select_related(*joined)
    if only:
        rows_qs = rows_qs.only(*only)
    rows_qs = rows_qs.annotate(**{keyset.SORT_VALUE: F(order.path)})
    cursor_after = keyset.decode(order, after) if after else None
    cursor_before = keyset.decode(order, before) if before and not cursor_after else None

    # A visibility rule that probes each row (tasks, documents): the count samples the rows'
    # SQL without planning it first (crm.pagination, EstimatedCountPaginator.count).
    blind = permissions.probes_rows(user, spec.model)

    def read(reverse: bool, cursor: keyset.Cursor | None) -> tuple[list[Model], Planned | None]:
        """The rows, and on a first page with more rows than it shows, the planner's estimate
        of them all, from the SQL the rows were read with (EXPLAINed, rather than compiling
        the filtered queryset again for it); for a blind
        list, that SQL unplanned, for the count to sample."""
        head = keyset.after(order, cursor, reverse=reverse) if cursor is not None else None
        ordered = rows_qs.filter(head) if head is not None else rows_qs
        ordered = ordered.order_by(*order.order_by(reverse=reverse))
        if guarded:
            return first_rows(ordered, per_page + 1, head=head), None
        seen: list[tuple[str, Any]] = []
        with connections[qs.db].execute_wrapper(_keep_sql(seen)):
            rows = list(ordered[: per_page + 1])
        # Not for an unfiltered list (an admin's): pg_class gives its size cheaper.
        # One statement read the rows: that one is planned (and sampled) for the count.
        wanted = cursor is None and len(rows) > per_page and len(seen) == 1
        wanted = wanted and not is_unfiltered(qs)
        if not wanted:
            return rows, Planned(None, blind=True) if blind else None
        if blind:
            return rows, Planned(None, blind=True, sql=seen[0][0], params=seen[0][1])
        return rows, planned_rows(*seen[0], table=spec.model._meta.db_table, using=qs.db)

    if cursor_before is not None:
        # A previous page: read backwards from the cursor, then put the rows back in order.
        rows, planned = read(True, cursor_before)
        has_prev, has_next = len(rows) > per_page, True
        rows = rows[:per_page][::-1]
    else:
        rows, planned = read(False, cursor_after)
        has_next, has_prev = len(rows) > per_page, cursor_after is not None
        rows = rows[:per_page]

    if not has_next and not has_prev:
        # Every row is on this page: that is the count, exact and without a query (a planner
        # estimate here once said "about 1,155" above the 11 rows of a correlated search).
        count, estimated, floor = len(rows), False, False
    else:
        counter = EstimatedCountPaginator(qs, per_page, planned=planned)
        count, estimated, floor = counter.count, counter.count_is_estimated, False
        if counter.count_is_rough:
            count, floor = len(rows), True  # more than this page; how many, unknown

    return ListPage(
        rows=rows,
        order=order,
        per_page=per_page,
        count=count,
        count_is_estimated=estimated,
        next_cursor=keyset.encode(order, rows[-1]) if rows and has_next else None,
        prev_cursor=keyset.encode(order, rows[0]) if rows and has_prev else None,
        count_is_floor=floor,
    )


def _keep_sql(seen: list[tuple[str, Any]]) -> Any:
    """A connection.execute_wrapper noting each statement's SQL and parameters in `seen`."""

    def keep(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, params))
        return execute(sql, params, many, context)

    return keep


def run(
    spec: ListSpec,
    qs: QuerySet,
    form: ListFilterForm,
    ctx: FilterContext,
    *,
    after: str | None = None,
    before: str | None = None,
) -> ListPage:
    """One page of the list, filtered by the form, in its sort, from the cursor."""
    values: dict[str, Any] = form.values
    order = sort_order(spec, values.get("sort"))
    per_page = values.get("per_page") or DEFAULT_PER_PAGE
    searched = any(isinstance(f, SearchFilter) and values.get(f.name) for f in form.filters)
    return paginate(
        spec,
        filtered(spec, qs, form, ctx),
        order,
        per_page=per_page,
        after=after,
        before=before,
        guarded=searched,
        user=ctx.user,
    )
