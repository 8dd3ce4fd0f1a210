"""A paginator that never runs an exact COUNT(*) over a large table.

Django's Paginator counts with `SELECT COUNT(*)`, which PostgreSQL answers by reading every
matching row: on a million contacts that is a full scan on every page view. This paginator asks
PostgreSQL for an estimate first and only counts exactly when the estimate is small:

- an unfiltered queryset: the table's row count from the statistics in `pg_class` (`reltuples`),
  scaled to the table's current size the way the planner does, so a bulk import that autovacuum
  has not analysed yet is not mistaken for an empty table;
- a filtered queryset, or a table never analysed (`reltuples` = -1): the planner's row estimate
  from `EXPLAIN (FORMAT JSON)`, which plans the query but does not run it;
- below `settings.ESTIMATED_COUNT_THRESHOLD` rows (default 1,000) the estimate is replaced by an
  exact count, which is cheap at that size. The count is bounded (`COUNT(*)` over a subquery
  with `LIMIT threshold + 1`): when the planner underestimated, it stops at the bound instead
  of counting a million rows, and the estimate stands, raised to the bound. This also protects
  callers that trust a small count: Django admin shows the whole unpaginated queryset when the
  count fits on one page, so an underestimate there would load every row.

Why 1,000 and not more: below the bound the exact count reads every matching row through the
visibility rule; at 1M contacts a sales rep's "new leads" (about 5,000 rows the planner put
under the old bound of 10,000) took 14 to 20 ms to count on every page view, for a number the
page shows as "about 5,000" anyway.

The planner is blind to one kind of condition: a correlated subquery, which the visibility
rules of tasks, documents and notes use to ask "may this user see the record it hangs off?"
(crm.permissions.rules._probed). It guesses such a test true for nearly every row, so a sales
rep's task list said "about 304,000 tasks" (the whole table) where the rep sees 69,028. When the
plan filters the listed table by a subquery, the count comes from a sample instead: the rows of
about SAMPLE_ROWS rows' worth of the table's pages (TABLESAMPLE SYSTEM, the same pages on every
view so the number does not jitter between reloads) that pass the filter, scaled to the table.
At 1M contacts that was within 20% of the truth for three users (docs/benchmarks.md), for 10 to
25 ms. The sample is of pages, not rows (reading rows at random means reading every page):
a filter that follows the order rows were written in (this month's, just imported) is
estimated from fewer independent draws, about 20 to 30 pages of a real table, so roughly.
Fewer than MIN_SAMPLE_HITS rows in the sample make too rough a number to print:
`count_is_floor` then tells the page to say "more than" the rows it has.

A caller that knows the planner is blind before asking it (a list page whose visibility rule
probes each row: crm.permissions.probes_rows) hands over Planned(None, blind=True): the count
samples straight away, and asks the planner only when the sample is too small to scale or
scales to fewer rows than the threshold (which the planner path may then count exactly).

Estimates are approximate: the last page number may be a little off. `count_is_estimated` tells
a template to say "about N". Reused by the admin (`paginator = EstimatedCountPaginator`) and the
app's list pages.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

DEFAULT_THRESHOLD = 1_000
# Rows a sampled count reads (pages of the table, drawn at random but the same ones each time):
# 1,000 put three users' task and document counts within 20% of the truth at 1M contacts;
# 2,000 within 12%, for twice the time.
SAMPLE_ROWS = 1_000
# Fewer matches in the sample than this and its scaled count is off by more than ~30%.
MIN_SAMPLE_HITS = 10

# How long a worker keeps an estimate (the planner's, or a sample's) for the same SQL: a
# list's "about 61,000" does not need asking again on every view, and asking costs 2-3 ms
# (the plan of a contact list) to 10-14 ms (the sample of a task or document list) at 1M
# contacts. Exact counts are never kept: they run every time.
ESTIMATE_SECONDS = 60


def _kept(kind: str, sql: str, params: Any, using: str) -> tuple[str, Any]:
    """The key an estimate of `sql` is kept under (the SQL holds the viewer's visibility rule:
    viewers with the same rule share it), and what is kept, or None. The key is made of the
    statement as PostgreSQL would receive it, parameters bound: a parameter's repr() is not
    its value (psycopg cuts a Jsonb's at 35 characters, so two custom-field filters shared
    one estimate)."""
    bound = connections[using].ops.compose_sql(sql, params)
    digest = hashlib.blake2b(f"{using}\0{bound}".encode(), digest_size=16)
    key = f"count:{kind}:{digest.hexdigest()}"
    return key, caches["worker"].get(key)


def _keep(key: str, value: Any) -> None:
    caches["worker"].set(key, value, ESTIMATE_SECONDS)


# reltuples / relpages is the row density the last ANALYZE or VACUUM saw; multiplied by the
# table's current page count it follows inserts made since (the planner's own formula).
# NULL when the table was never analysed (-1) or had no pages then (density unknown).
_ESTIMATE = """CASE WHEN c.reltuples < 0 OR c.relpages = 0 THEN NULL
       ELSE c.reltuples / c.relpages
            * (pg_relation_size(c.oid) / current_setting('block_size')::int) END"""
TABLE_ESTIMATE_SQL = f"SELECT {_ESTIMATE} FROM pg_class c WHERE c.oid = to_regclass(%s)"  # noqa: S608
# A table that does not exist has no row (to_regclass: NULL), where a cast would raise.
TABLES_ESTIMATE_SQL = (
    f"SELECT c.relname, {_ESTIMATE} FROM pg_class c"  # noqa: S608
    " WHERE c.oid = ANY(SELECT to_regclass(name) FROM unnest(%s::text[]) AS name)"
)


def is_unfiltered(queryset: QuerySet[Any]) -> bool:
    """True when the queryset returns every row of its table (select_related joins only)."""
    query = queryset.query
    return (
        not query.has_filters()
        and not query.distinct
        and query.combinator is None
        and query.group_by is None
        and query.low_mark == 0
        and query.high_mark is None
    )


def table_row_estimate(queryset: QuerySet[Any]) -> int | None:
    """The planner's row count for the queryset's whole table, or None if it has no statistics."""
    connection = connections[queryset.db]
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(TABLE_ESTIMATE_SQL, [table])
        row = cursor.fetchone()
    return None if row is None or row[0] is None else int(row[0])


def table_row_estimates(models: list[type[Any]], using: str = "default") -> dict[str, int | None]:
    """table_row_estimate of several models' tables in one query: {db_table: rows, or None
    for a table without statistics}."""
    names = [model._meta.db_table for model in models]
    with connections[using].cursor() as cursor:
        cursor.execute(TABLES_ESTIMATE_SQL, [names])
        found = {name: None if rows is None else int(rows) for name, rows in cursor.fetchall()}
    return {name: found.get(name) for name in names}


@dataclass(frozen=True)
class Planned:
    """The planner's row estimate for a query, and whether it could see what it estimated."""

    # None: the planner was not asked, because the caller knows it is blind here (a list whose
    # visibility rule probes each row, crm.permissions.probes_rows); the count samples first.
    rows: int | None
    # The listed table is filtered by a correlated subquery: the planner's guess of how many
    # rows pass it is a constant, not an estimate (module doc).
    blind: bool = False
    # The SELECT that was planned, when a sampled count may reuse it (sampled_row_estimate).
    sql: str | None = None
    params: Any = None


def planner_row_estimate(queryset: QuerySet[Any]) -> Planned:
    """The rows PostgreSQL's planner expects the queryset to return, without running it."""
    try:
        # Ordering changes the plan's cost, not its row count; dropping it plans faster.
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:
        return Planned(0)
    return planned_rows(sql, params, table=queryset.model._meta.db_table, using=queryset.db)


def planned_rows(sql: str, params: Any, *, table: str, using: str = "default") -> Planned:
    """The rows PostgreSQL's planner expects the SELECT `sql` from `table` to return, ignoring
    a LIMIT at its top: the estimate of the first plan node under it. A list page passes the
    SQL it has just read its rows with (crm.lists.engine), which gives the estimate of
    planner_row_estimate(its queryset) -- the same numbers, checked on every list at 1M rows
    -- without compiling that queryset again (5 ms of Python for the document list's rules).
    Kept for ESTIMATE_SECONDS."""
    key, kept = _kept("plan", sql, params, using)
    if kept is not None:
        return kept
    with connections[using].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # psycopg decodes json columns; other drivers may not
        plan = json.loads(plan)
    node = plan[0]["Plan"]
    while node["Node Type"] == "Limit" and node.get("Plans"):
        node = node["Plans"][0]
    blind = _filters_by_subquery(node, table)
    planned = Planned(int(node["Plan Rows"]), blind, *((sql, params) if blind else (None, None)))
    _keep(key, planned)
    return planned


def _filters_by_subquery(node: dict[str, Any], table: str) -> bool:
    """Whether a scan of `table` in the main plan (not inside a subquery's own plan) filters
    its rows by a subquery: EXPLAIN names it "(SubPlan n)" in the scan's Filter."""
    if node.get("Relation Name") == table and "SubPlan" in node.get("Filter", ""):
        return True
    return any(
        _filters_by_subquery(child, table)
        for child in node.get("Plans", ())
        if child.get("Parent Relationship") not in ("SubPlan", "InitPlan")
    )


@dataclass(frozen=True)
class Sampled:
    """What a sampled count found: `rows` matching rows estimated for the whole table, from
    `hits` matches in the sample; `exact` when the sample was the table."""

    rows: int
    hits: int
    exact: bool


def sampled_row_estimate(
    queryset: QuerySet[Any], *, planned: Planned, want: int | None = None
) -> Sampled | None:
    """The rows of `queryset` among about `want` (SAMPLE_ROWS) rows of its table's pages,
    scaled to the table (module doc). Two queries: the table's size, then the sample.
    `planned`: the SQL the planner was asked about, counted over the sample rather than
    compiling the queryset again. None, nothing sampled, when the table has no statistics
    (never analysed: just restored or imported): its size is unknown, so neither how much to
    sample nor how to scale what was found (sampling everything would be the full count); and
    when the SQL is not one SELECT from the table (a UNION), which a sample cannot stand in for.
    An estimate is kept for ESTIMATE_SECONDS; a sample of the whole table is a count, never kept.
    """
    if queryset.query.combinator is not None:
        return None
    want = want or SAMPLE_ROWS
    model = queryset.model
    connection = connections[queryset.db]
    table = connection.ops.quote_name(model._meta.db_table)
    try:
        sql, params = _read_sql(queryset, planned)
    except EmptyResultSet:
        return Sampled(0, 0, exact=True)
    key, kept = _kept(f"sample{want}", sql, params, queryset.db)
    if kept is not None:
        return kept
    table_rows = table_row_estimate(queryset)
    if table_rows is None:
        return None
    percent = 100.0 if table_rows <= want else want * 100.0 / table_rows
    # REPEATABLE: the same pages on every view, so the count does not change on a reload.
    # The percentage is this function's own number, written into the SQL as one.
    sample = f"TABLESAMPLE SYSTEM ({percent:.6f}) REPEATABLE (0)"
    from_sample = f"FROM (SELECT * FROM {table} {sample}) {table}"  # noqa: S608
    hits_sql = _swap_top_from(sql, f"FROM {table}", from_sample)
    if hits_sql is None:  # not the one-table SELECT Django writes for a list: not sampled
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {table} {sample}), (SELECT count(*) FROM ({hits_sql}) h)",  # noqa: S608,E501
            params,
        )
        sampled, hits = cursor.fetchone()
    if percent >= 100.0:
        return Sampled(hits, hits, exact=True)  # a count, not an estimate: never kept
    estimate = Sampled(round(hits * table_rows / sampled) if sampled else 0, hits, exact=False)
    _keep(key, estimate)
    return estimate


def _read_sql(queryset: QuerySet[Any], planned: Planned) -> tuple[str, Any]:
    """The SQL to count over the sample: the planned SELECT without its LIMIT (a list page's
    row query: its ordering and columns cost nothing once PostgreSQL drops the unused ones;
    a later page's, planner_row_estimate's, has none), else the queryset compiled."""
    if planned.sql is None:
        return queryset.order_by().values("pk").query.sql_with_params()
    match = _TRAILING_LIMIT.search(planned.sql)
    return (planned.sql[: match.start()] if match else planned.sql), planned.params


_TRAILING_LIMIT = re.compile(r"\sLIMIT \d+\Z")
# What _swap_top_from steps over: string literals, quoted names (either may hold parentheses
# or the text searched for) and parentheses, which say how deep in subqueries a match is.
_SQL_TOKENS = r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[()]"


def _swap_top_from(sql: str, old: str, new: str) -> str | None:
    """`sql` with its one top-level `old` (FROM "table") replaced by `new`; None unless there
    is exactly one, outside every subquery, literal and quoted name."""
    depth, found = 0, []
    for match in re.finditer(f"(?P<hit> {re.escape(old)}(?=[\\s)]|\\Z))|{_SQL_TOKENS}", sql):
        if match.group("hit"):
            if depth == 0:
                found.append(match.start("hit"))
        else:
            depth += {"(": 1, ")": -1}.get(match.group(), 0)
    if len(found) != 1:
        return None
    at = found[0] + 1  # past the space
    return f"{sql[:at]}{new}{sql[at + len(old) :]}"


class EstimatedCountPaginator(Paginator):
    """A Paginator whose `count` is PostgreSQL's estimate for large querysets (see module doc)."""

    count_is_estimated = False
    # A sampled count found too few matches to scale (MIN_SAMPLE_HITS): `count` is a rough
    # guess, and a page should say only that there are more rows than it shows.
    count_is_rough = False

    def __init__(self, *args: Any, planned: Planned | None = None, **kwargs: Any) -> None:
        """`planned`: the planner's estimate when the caller already has it (planned_rows),
        or Planned(None, blind=True, ...) when the caller knows the planner is blind."""
        super().__init__(*args, **kwargs)
        self.planned = planned

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        planned, sampled = self.planned, None
        threshold = getattr(settings, "ESTIMATED_COUNT_THRESHOLD", DEFAULT_THRESHOLD)
        unfiltered = is_unfiltered(queryset)
        # The caller knows the planner is blind here: the sample comes first (below).
        known_blind = not unfiltered and planned is not None and planned.rows is None
        if unfiltered:
            table_rows = table_row_estimate(queryset)
            planned = None if table_rows is None else Planned(table_rows)
        elif known_blind:
            # Known to be blind: asking the planner first would only hear "all of them" (and
            # cost a planning of the page's SQL, 7 ms for the task list at 1M contacts). It
            # is asked only when the sample is too small to scale, to tell a few rows, counted
            # exactly, from "more than" the page shows.
            sampled = sampled_row_estimate(queryset, planned=planned)
            if sampled is not None and sampled.exact:
                return sampled.rows
            scaled = sampled is not None and sampled.hits >= MIN_SAMPLE_HITS
            if scaled and sampled.rows >= threshold:
                self.count_is_estimated = True
                return sampled.rows
            # Too thin a sample, or fewer rows than the threshold: the planner decides, as
            # for any list, between a bounded exact count and the estimate (the sample's).
            # The queryset, not the page's SQL: that one was read under planner settings
            # (join order) this paginator does not know. Rare: a filter few rows pass.
            planned = None
        planned = planned or planner_row_estimate(queryset)
        estimate = planned.rows
        if estimate < threshold:
            exact = queryset.order_by()[: threshold + 1].count()
            if exact <= threshold:
                return exact
            estimate = max(estimate, exact)  # the planner was low: at least this many
        elif planned.blind:
            if not known_blind:  # else sampled above already
                sampled = sampled_row_estimate(queryset, planned=planned)
            if sampled is not None and sampled.exact:
                return sampled.rows
            if sampled is not None:
                estimate = sampled.rows
                self.count_is_rough = sampled.hits < MIN_SAMPLE_HITS
        self.count_is_estimated = True
        return estimate
