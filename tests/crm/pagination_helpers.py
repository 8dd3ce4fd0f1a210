"""What the EstimatedCountPaginator tests share (tests/crm/test_pagination*.py): a table of
industries to count, its statistics, counting it with the queries seen, and a correlated
subquery test the planner cannot estimate. Their fixtures are in tests/crm/conftest.py."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Industry
from crm.pagination import EstimatedCountPaginator, Planned

EVERY_THIRD = range(0, 3000, 3)


def add_industries(count: int, start: int = 0) -> None:
    Industry.objects.bulk_create(
        Industry(name=f"Industry {i:05d}", position=i) for i in range(start, start + count)
    )


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_industry")


def estimate_of(
    queryset, *, planned: Planned | None = None
) -> tuple[EstimatedCountPaginator, int, list[str]]:
    """The paginator, its count, and the SQL of every query counting took."""
    paginator = EstimatedCountPaginator(queryset, 25, planned=planned)
    with CaptureQueriesContext(connection) as ctx:
        total = paginator.count
    return paginator, total, [q["sql"] for q in ctx.captured_queries]


def estimate_blind(
    queryset, *, sql: bool = True
) -> tuple[EstimatedCountPaginator, int, list[str]]:
    """Counted as a list page whose visibility rule probes each row counts: the page's own
    SQL handed over unplanned (crm.lists.engine.paginate); a later page has none."""
    if not sql:
        return estimate_of(queryset, planned=Planned(None, blind=True))
    row_sql, params = queryset.order_by("name")[:26].query.sql_with_params()
    return estimate_of(queryset, planned=Planned(None, blind=True, sql=row_sql, params=params))


def counted_exactly(statements: list[str]) -> bool:
    return any("COUNT(" in sql.upper() for sql in statements)


def probe_filter(queryset):
    """`queryset` narrowed by a correlated subquery test, as the visibility rules of tasks and
    documents narrow theirs (crm.permissions.rules._probed): invisible to the planner."""
    from django.db.models import OuterRef, Subquery
    from django.db.models.lookups import IsNull

    def narrowed(**condition):
        match = Industry.objects.filter(pk=OuterRef("pk"), **condition).values("pk")[:1]
        return queryset.filter(IsNull(Subquery(match), False))

    return narrowed
