"""A query over a few rows of a big table, fenced so PostgreSQL reads those rows first.

Why: the visibility filter (crm.permissions) is an OR of indexable arms (owner in my team,
shared with my team, watched ids). Beside another selective condition, such as "contacts of this
company" or "search text matches 'joh'", PostgreSQL builds a bitmap for each arm and ANDs them:
at 1M contacts a manager's owner bitmap alone holds ~280,000 rows and costs 15-25 ms, though
the page wants 200 matches or the first 1,000 contacts of one company. Lowering
random_page_cost does not change that choice (measured). Fenced, the narrow condition runs on
its own (an index range in order) and visibility is checked row by row on what comes out,
stopping at the outer LIMIT: 39 -> 6 ms for the contacts panel of a company with 20,000
contacts (docs/benchmarks.md).

How: `WITH "crm_contact" AS (<inner> OFFSET 0) <outer>`. The CTE has the table's
own name, so the outer query -- an ordinary ORM queryset with its visibility filter, values
and annotations -- reads the CTE where it named the table; inside the CTE the name still means
the table (a non-recursive CTE does not see itself). PostgreSQL inlines a CTE used once, and the
OFFSET keeps it from being merged into the outer query: that is the fence. An outer
ORDER BY equal to the inner one costs no sort: the subquery's order is known to the planner.

The fence has a cost of its own: it reads the inner rows until the outer query has enough,
so it suits a bounded inner set (one record's related rows) or a capped one. Global search
caps it (crm.selectors.search._fenced_sql: at most FENCE_SCAN text matches, `numbered` to
learn where it stopped) and falls back to the plain query when the cap cut it short.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import F, Model, Q, QuerySet


class Fence:
    """The inner side of fenced_sql, compiled once: several outer queries (a panel's first rows
    and its capped count) can read the same fenced rows without compiling them again (about
    0.5 ms of ORM work each for a table of 25 columns)."""

    def __init__(self, inner: QuerySet, *, numbered: bool = False) -> None:
        self.model = inner.model._meta.concrete_model
        if inner.query.low_mark:
            raise ValueError("fenced_sql: the inner rows may be capped ([:n]) but not offset")
        # Every column, under its column name, so whatever the outer query reads is there (a
        # field with its own db_column is renamed to it).
        fields = self.model._meta.concrete_fields
        same = [f.attname for f in fields if f.column == f.attname]
        renamed = {f.column: F(f.attname) for f in fields if f.column != f.attname}
        inner_sql, self.params = inner.values(*same, **renamed).query.sql_with_params()
        fenced = f"{inner_sql} OFFSET 0"
        if numbered:
            fenced = f"SELECT fenced.*, row_number() OVER () AS fence_n FROM ({fenced}) AS fenced"  # noqa: S608
        self.sql = fenced

    def around(self, outer: QuerySet) -> tuple[str, list]:
        """The SQL and parameters of `outer` read over the fenced rows (see fenced_sql)."""
        if outer.model._meta.concrete_model is not self.model:
            raise ValueError(f"fenced_sql: {self.model} rows cannot fence a {outer.model} query")
        table = self.model._meta.db_table
        outer_sql, outer_params = outer.query.sql_with_params()
        # The outer query must read the table once, as its base: a subquery or join reading it
        # again would read only the fenced rows. A rule that starts doing so through the ORM
        # fails here, loudly; SQL written by hand (RawSQL, extra()) is not seen, and no rule
        # has any.
        reads = re.findall(rf'(?:FROM|JOIN) "{re.escape(table)}"', outer_sql)
        if len(reads) != 1:
            raise ValueError(f"fenced_sql: the outer query reads {table} {len(reads)} times")
        # ORM-compiled SQL on both sides, parameters kept apart: nothing typed is pasted in.
        return f'WITH "{table}" AS ({self.sql}) {outer_sql}', [*self.params, *outer_params]


def fenced_sql(outer: QuerySet, inner: QuerySet, *, numbered: bool = False) -> tuple[str, list]:
    """The SQL and parameters of `outer` evaluated over only the rows of `inner`, in inner's
    order. Both are querysets of the same model; `outer` must read its table once, under the
    table's own name (the ORM's base alias), and no subquery of it may read that table (it
    would read the fenced rows). With `numbered`, each fenced row also carries `fence_n`, its
    position in inner's order from 1 (RawSQL('"<table>"."fence_n"') in the outer query reads
    it): row_number() streams, so the fence still stops when the outer query has enough.
    Raises EmptyResultSet like the compiler when either matches nothing by construction."""
    return Fence(inner, numbered=numbered).around(outer)


# first_rows() walks at most this many rows of the order itself (~2-3 us a row at 1M
# contacts)...
HEAD_SCAN = 2_000
# ...and lets PostgreSQL walk on only if the matches it found there are dense enough to fill
# the page within this many rows; sparser, bitmaps read the page instead.
WALK_LIMIT = 40_000


@contextlib.contextmanager
def planner_settings(**settings: str) -> Iterator[None]:
    """A transaction with PostgreSQL planner settings changed for its own queries only.

    They are transaction-local (`set_config(..., true)`); inside an enclosing transaction
    they are put back as they were at the end of the block, so they never outlive it."""
    names = list(settings)
    nested = connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT "
                + ", ".join(["current_setting(%s), set_config(%s, %s, true)"] * len(names)),
                [value for name in names for value in (name, name, settings[name])],
            )
            before = cursor.fetchone()[::2]
        yield
        if nested:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(names)),
                    [value for pair in zip(names, before, strict=True) for value in pair],
                )


def bitmap_scans_only() -> contextlib.AbstractContextManager[None]:
    """A transaction in which PostgreSQL reads tables only through bitmap scans: for a filter
    that matches few of the rows the user may see, bitmaps of the filter's index and of the
    visibility rule's indexes read only the rows both hold, where a walk of the sort's index
    testing each row (first_rows) or a sequential scan reads on through the table."""
    return planner_settings(enable_seqscan="off", enable_indexscan="off")


def first_rows(rows: QuerySet, limit: int, *, head: Q | None = None) -> list[Model]:
    """The first `limit` rows of the ordered queryset `rows`, without a walk that runs away.

    Why: for "the first page of the rows matching a text filter, newest first" PostgreSQL
    may walk the sort's index testing each row, assuming matches are spread evenly and as
    likely visible as any row. When they are not, it reads on through the table: at 1M
    contacts a rep searching the contacts list for "americanabbott" (20,000 contacts, 11 of
    them visible to that rep) waited 2.6 s. Bitmaps alone would avoid that but cost more when
    matches are common: "555" 3.5 ms walked, 277 ms by bitmaps.

    How: a walk of the first HEAD_SCAN rows of the order (`head`: the condition that starts
    the order where the page starts, a keyset cursor's), fenced (fenced_sql) and without
    parallel workers, whose start-up costs more than such a walk. If `limit` rows pass,
    they are the answer: any row before them in the order is among the walked rows too (the
    order must be total: end it with the key). If fewer pass but often enough that the page
    would fill within WALK_LIMIT rows, the plain query runs: PostgreSQL's own choice cannot
    go far wrong. Otherwise matches are rare where the order starts, and bitmaps read the
    page. Two queries when the walk answers (the keys, then those rows with everything
    `rows` selects), two when it does not.
    """
    model = rows.model
    query = rows.query
    if not query.order_by or query.distinct or query.is_sliced:
        # No order of its own to walk (only Meta.ordering's), or a shape the fence cannot
        # take: the plain query, as callers would have run it.
        return list(rows[:limit])
    inner = model._base_manager.filter(head or Q()).order_by(*query.order_by)[:HEAD_SCAN]
    try:
        sql, params = fenced_sql(rows.values_list("pk", flat=True)[:limit], inner)
    except EmptyResultSet:
        return []
    except ValueError:
        # The query reads its table a second time (a parent filter's subquery: "deals of this
        # contact" reads the deals it is primary on), which inside the fence would see only
        # the walked rows. Such a filter narrows to one record's rows: bitmaps read them.
        with bitmap_scans_only():
            return list(rows[:limit])
    with planner_settings(max_parallel_workers_per_gather="0"), connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [key for (key,) in cursor.fetchall()]
    if len(keys) == limit:
        found = {row.pk: row for row in rows.order_by().filter(pk__in=keys)}
        if len(found) == limit:
            return [found[key] for key in keys]
        # A row changed or went between the two queries: read the page the plain way.
    if len(keys) * WALK_LIMIT >= limit * HEAD_SCAN:
        return list(rows[:limit])
    with bitmap_scans_only():
        return list(rows[:limit])
