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

Estimates are approximate: the last page number may be a little off. `count_is_estimated` tells
a template to say "about N". Reused by the admin (`paginator = EstimatedCountPaginator`) and the
app's list pages.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

DEFAULT_THRESHOLD = 1_000

# reltuples / relpages is the row density the last ANALYZE or VACUUM saw; multiplied by the
# table's current page count it follows inserts made since (the planner's own formula).
# NULL when the table was never analysed (-1) or had no pages then (density unknown).
TABLE_ESTIMATE_SQL = """
SELECT CASE WHEN c.reltuples < 0 OR c.relpages = 0 THEN NULL
       ELSE c.reltuples / c.relpages
            * (pg_relation_size(c.oid) / current_setting('block_size')::int) END
FROM pg_class c WHERE c.oid = to_regclass(%s)
"""


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


def planner_row_estimate(queryset: QuerySet[Any]) -> int:
    """The rows PostgreSQL's planner expects the queryset to return, without running it."""
    try:
        # Ordering changes the plan's cost, not its row count; dropping it plans faster.
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:
        return 0
    return planned_rows(sql, params, using=queryset.db)


def planned_rows(sql: str, params: Any, *, using: str = "default") -> int:
    """The rows PostgreSQL's planner expects the SELECT `sql` to return, ignoring a LIMIT at
    its top: the estimate of the first plan node under it. A list page passes the SQL it has
    just read its rows with (crm.lists.engine), which gives the estimate of
    planner_row_estimate(its queryset) -- the same numbers, checked on every list at 1M rows
    -- without compiling that queryset again (5 ms of Python for the document list's rules)."""
    with connections[using].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # psycopg decodes json columns; other drivers may not
        plan = json.loads(plan)
    node = plan[0]["Plan"]
    while node["Node Type"] == "Limit" and node.get("Plans"):
        node = node["Plans"][0]
    return int(node["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """A Paginator whose `count` is PostgreSQL's estimate for large querysets (see module doc)."""

    count_is_estimated = False

    def __init__(self, *args: Any, planned: int | None = None, **kwargs: Any) -> None:
        """`planned`: the planner's estimate when the caller already has it (planned_rows)."""
        super().__init__(*args, **kwargs)
        self.planned = planned

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        estimate = table_row_estimate(queryset) if is_unfiltered(queryset) else None
        if estimate is None:
            estimate = self.planned
        if estimate is None:
            estimate = planner_row_estimate(queryset)
        threshold = getattr(settings, "ESTIMATED_COUNT_THRESHOLD", DEFAULT_THRESHOLD)
        if estimate < threshold:
            exact = queryset.order_by()[: threshold + 1].count()
            if exact <= threshold:
                return exact
            estimate = max(estimate, exact)  # the planner was low: at least this many
        self.count_is_estimated = True
        return estimate
