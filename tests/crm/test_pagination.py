"""EstimatedCountPaginator: estimates from PostgreSQL on large tables, exact counts on small."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Industry
from crm.pagination import EstimatedCountPaginator


def _add_industries(count: int, start: int = 0) -> None:
    Industry.objects.bulk_create(
        Industry(name=f"Industry {i:05d}", position=i) for i in range(start, start + count)
    )


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_industry")


def _count(queryset) -> tuple[EstimatedCountPaginator, int, list[str]]:
    paginator = EstimatedCountPaginator(queryset, 25)
    with CaptureQueriesContext(connection) as ctx:
        count = paginator.count
    return paginator, count, [q["sql"] for q in ctx.captured_queries]


def _counted(statements: list[str]) -> bool:
    return any("COUNT(" in sql.upper() for sql in statements)


@pytest.fixture
def low_threshold(settings) -> None:
    settings.ESTIMATED_COUNT_THRESHOLD = 100


@pytest.mark.django_db
def test_unfiltered_large_table_uses_catalog_statistics_not_count(low_threshold) -> None:
    _add_industries(500)
    _analyze()

    paginator, count, statements = _count(Industry.objects.all())

    assert count == 500  # ANALYZE read the whole (small) table
    assert paginator.count_is_estimated
    assert len(statements) == 1
    assert "pg_class" in statements[0]
    assert not _counted(statements)
    assert paginator.num_pages == 20


@pytest.mark.django_db
def test_estimate_follows_rows_added_since_the_last_analyze(low_threshold) -> None:
    # A bulk import lands between autovacuum runs: the stale reltuples is scaled by the
    # table's current size, as the planner does, instead of being trusted as is.
    _add_industries(2000)
    _analyze()
    _add_industries(2000, start=2000)

    paginator, count, statements = _count(Industry.objects.all())

    assert 3000 < count < 5000
    assert paginator.count_is_estimated
    assert not _counted(statements)


@pytest.mark.django_db
def test_filtered_large_queryset_uses_the_planner_estimate(low_threshold) -> None:
    _add_industries(1000)
    _analyze()

    paginator, count, statements = _count(Industry.objects.filter(position__gte=500))

    assert 300 < count < 700  # the planner's estimate of 500 matching rows
    assert paginator.count_is_estimated
    assert statements[0].startswith("EXPLAIN (FORMAT JSON)")
    assert not _counted(statements)


@pytest.mark.django_db
def test_small_counts_are_exact(low_threshold) -> None:
    _add_industries(1000)
    _analyze()

    paginator, count, statements = _count(Industry.objects.filter(position__lt=7))

    assert count == 7
    assert not paginator.count_is_estimated
    assert _counted(statements)


@pytest.mark.django_db
def test_small_table_is_counted_exactly_with_the_default_threshold() -> None:
    _add_industries(30)
    _analyze()

    paginator, count, _ = _count(Industry.objects.all())

    assert count == 30
    assert not paginator.count_is_estimated


@pytest.mark.django_db
def test_queryset_that_cannot_match_counts_zero_without_a_query() -> None:
    _, count, statements = _count(Industry.objects.filter(pk__in=[]))

    assert count == 0
    assert statements == []


def test_plain_lists_are_counted_by_length() -> None:
    assert EstimatedCountPaginator(list(range(42)), 10).count == 42


@pytest.mark.django_db
def test_an_underestimate_is_counted_only_up_to_the_bound(low_threshold) -> None:
    # The planner thinks few rows match (statistics from before a bulk load): the exact count
    # that follows stops at threshold + 1 rows instead of counting the whole table.
    _add_industries(10)
    _analyze()
    _add_industries(3000, start=10)
    queryset = Industry.objects.filter(position__gte=0, name__startswith="Industry")

    paginator, count, statements = _count(queryset)

    counting = [sql for sql in statements if "COUNT(" in sql.upper()]
    assert counting and all("LIMIT 101" in sql for sql in counting)
    assert count >= 101
    assert paginator.count_is_estimated


@pytest.mark.django_db
def test_a_small_result_is_counted_exactly(low_threshold) -> None:
    _add_industries(40)
    _analyze()

    paginator, count, _ = _count(Industry.objects.filter(position__lt=30))

    assert count == 30
    assert not paginator.count_is_estimated


EVERY_THIRD = range(0, 3000, 3)


def _probed(queryset):
    """`queryset` narrowed by a correlated subquery test, as the visibility rules of tasks and
    documents narrow theirs (crm.permissions.rules._probed): invisible to the planner."""
    from django.db.models import OuterRef, Subquery
    from django.db.models.lookups import IsNull

    def narrowed(**condition):
        match = Industry.objects.filter(pk=OuterRef("pk"), **condition).values("pk")[:1]
        return queryset.filter(IsNull(Subquery(match), False))

    return narrowed


@pytest.fixture
def sampled_table(low_threshold, monkeypatch) -> None:
    """3,000 industries, analysed, and samples of about 600 rows (a fifth of the table)."""
    monkeypatch.setattr("crm.pagination.SAMPLE_ROWS", 600)
    _add_industries(3000)
    _analyze()


@pytest.fixture
def every_third(sampled_table):
    """The industries passing a correlated subquery test: every third (1,000)."""
    return _probed(Industry.objects.all())(position__in=EVERY_THIRD)


@pytest.mark.django_db
def test_a_subquery_filter_is_counted_from_a_sample_not_the_planner_guess(every_third) -> None:
    # The planner counts nearly every row through a correlated subquery test: 3,000 here,
    # where 1,000 pass. The sample (about 600 rows of the table's pages) finds the third.
    # Every third row passes, so any page holds its share: the sample is of pages, and a
    # filter following the insertion order (the first 1,000) would hang on which ~4 of this
    # small table's ~20 pages were drawn.
    queryset = every_third

    from crm.pagination import planner_row_estimate

    planned = planner_row_estimate(queryset)
    assert planned.blind and planned.rows > 2000

    paginator, count, statements = _count(queryset)

    assert 600 < count < 1400
    assert paginator.count_is_estimated and not paginator.count_is_rough
    assert any("TABLESAMPLE SYSTEM" in sql for sql in statements)
    # No exact count of the filter (Django's `SELECT COUNT(*) AS "__count"`) was run.
    assert not any("COUNT(*) AS" in sql.upper() for sql in statements)


@pytest.mark.django_db
def test_a_sample_with_too_few_matches_is_rough(sampled_table) -> None:

    paginator, _, _ = _count(_probed(Industry.objects.all())(position__in=[5, 1500, 2900]))

    assert paginator.count_is_estimated and paginator.count_is_rough


@pytest.mark.django_db
def test_a_sample_of_the_whole_table_is_the_exact_count(low_threshold) -> None:
    # Fewer rows than SAMPLE_ROWS: the "sample" is every page, so its count is exact.
    _add_industries(400)
    _analyze()

    paginator, count, _ = _count(_probed(Industry.objects.all())(position__lt=130))

    assert count == 130
    assert not paginator.count_is_estimated


@pytest.mark.django_db
def test_a_column_filter_is_not_sampled(low_threshold) -> None:
    _add_industries(1000)
    _analyze()

    from crm.pagination import planner_row_estimate

    assert not planner_row_estimate(Industry.objects.filter(position__gte=500)).blind


def test_the_sample_replaces_only_the_top_level_table() -> None:
    from crm.pagination import _swap_top_from

    sql = (
        'SELECT "t"."id", (SELECT 1 FROM "t" U0 WHERE U0.id = "t"."id") FROM "t" '
        'WHERE "t"."name" = \' FROM "t" (\' AND "t"."x" IN (SELECT id FROM "t") '
        'ORDER BY "t"."id"'
    )
    swapped = _swap_top_from(sql, 'FROM "t"', 'FROM (SAMPLE) "t"')
    assert swapped == sql.replace(') FROM "t" WHERE', ') FROM (SAMPLE) "t" WHERE')
    # A table only inside subqueries, or a name that merely starts like it: not this shape.
    assert _swap_top_from('SELECT (SELECT 1 FROM "t") FROM "u"', 'FROM "t"', "x") is None
    assert _swap_top_from('SELECT 1 FROM "t_links"', 'FROM "t"', "x") is None


@pytest.mark.django_db
def test_a_sampled_count_reuses_the_planned_sql(every_third) -> None:
    from crm.pagination import planned_rows, sampled_row_estimate

    queryset = every_third
    sql, params = queryset.order_by("name")[:26].query.sql_with_params()
    planned = planned_rows(sql, params, table="crm_industry")
    assert planned.blind and planned.sql == sql

    with CaptureQueriesContext(connection) as ctx:
        reused = sampled_row_estimate(queryset, planned=planned)
    compiled = sampled_row_estimate(queryset, planned=type(planned)(planned.rows, True))

    assert reused == compiled  # the same pages, the same matches
    assert 600 < reused.rows < 1400
    assert any('FROM (SELECT * FROM "crm_industry" TABLESAMPLE' in q["sql"] for q in ctx)


@pytest.mark.django_db
def test_a_later_page_samples_the_sql_it_planned_without_compiling_again(
    every_third, monkeypatch
) -> None:
    # No row SQL to reuse (a page after the first): planner_row_estimate compiles the count's
    # SQL once, and the sample runs that same SQL.
    queryset = every_third
    compiled = []
    original = type(queryset.query).get_compiler

    def counting(self, *args, **kwargs):
        compiled.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(queryset.query), "get_compiler", counting)
    queryset.order_by().query.sql_with_params()
    once = len(compiled)  # the query and its subquery
    compiled.clear()
    paginator, count, statements = _count(queryset)

    assert 600 < count < 1400 and paginator.count_is_estimated
    assert len(compiled) == once
    assert any("TABLESAMPLE SYSTEM" in sql for sql in statements)


@pytest.mark.django_db
def test_a_table_never_analysed_is_not_sampled(every_third) -> None:
    # Its size is unknown (reltuples -1, as after a restore), so neither how much to sample
    # nor how to scale: the planner's number stands rather than a sample of everything.
    with connection.cursor() as cursor:  # undone with the test's transaction
        cursor.execute("UPDATE pg_class SET reltuples = -1 WHERE oid = 'crm_industry'::regclass")

    from crm.pagination import planner_row_estimate

    planned = planner_row_estimate(every_third)
    assert planned.blind

    paginator, count, statements = _count(every_third)

    assert paginator.count_is_estimated and count == planned.rows  # the planner's number
    assert not any("TABLESAMPLE" in sql for sql in statements)


@pytest.mark.django_db
def test_a_union_is_not_sampled(sampled_table) -> None:
    probed = _probed(Industry.objects.all())
    queryset = probed(position__in=EVERY_THIRD).union(probed(position__lt=10)).order_by("name")

    paginator, count, statements = _count(queryset)

    assert paginator.count_is_estimated and count > 0
    assert not any("TABLESAMPLE" in sql for sql in statements)


# --- Known to be blind: the caller says so (crm.permissions.probes_rows) --------------------


def _count_blind(queryset, *, sql: bool = True):
    """Counted as a list page whose visibility rule probes each row counts: the page's own
    SQL handed over unplanned (crm.lists.engine.paginate)."""
    from crm.pagination import Planned

    if sql:
        row_sql, params = queryset.order_by("name")[:26].query.sql_with_params()
        planned = Planned(None, blind=True, sql=row_sql, params=params)
    else:
        planned = Planned(None, blind=True)
    paginator = EstimatedCountPaginator(queryset, 25, planned=planned)
    with CaptureQueriesContext(connection) as ctx:
        count = paginator.count
    return paginator, count, [q["sql"] for q in ctx.captured_queries]


@pytest.mark.django_db
@pytest.mark.parametrize("sql", [True, False], ids=["first page", "later page"])
def test_a_list_known_to_be_blind_is_sampled_without_asking_the_planner(every_third, sql) -> None:
    paginator, count, statements = _count_blind(every_third, sql=sql)

    assert 600 < count < 1400
    assert paginator.count_is_estimated and not paginator.count_is_rough
    assert any("TABLESAMPLE SYSTEM" in s for s in statements)
    assert not any(s.startswith("EXPLAIN") for s in statements)
    # The same number as asking the planner first, which then samples the same pages.
    assert count == _count(every_third)[1]


@pytest.mark.django_db
def test_a_known_blind_sample_too_small_to_scale_asks_the_planner(sampled_table) -> None:
    # Three matches in 3,000 rows: the sample holds too few to scale. The planner, asked
    # next, is blind too ("nearly all of them"): the page says "more than" what it shows.
    queryset = _probed(Industry.objects.all())(position__in=[5, 1500, 2900])

    paginator, _, statements = _count_blind(queryset)

    assert paginator.count_is_estimated and paginator.count_is_rough
    assert sum("TABLESAMPLE SYSTEM" in s for s in statements) == 1  # sampled once, not twice
    assert any(s.startswith("EXPLAIN") for s in statements)


@pytest.mark.django_db
def test_a_known_blind_list_the_planner_sees_as_small_is_counted_exactly(sampled_table) -> None:
    # A column filter few rows pass, beside the subquery test: too few matches in the
    # sample, and the planner (asked next) expects fewer than the threshold: counted. The 15
    # rows are spread over the table, so a fifth of its pages holds about 3 of them (10 or
    # more: about one chance in 10,000), wherever the rows landed.
    spread = range(0, 3000, 200)
    queryset = _probed(Industry.objects.filter(position__in=spread))(position__gte=0)

    paginator, count, statements = _count_blind(queryset)

    assert count == 15 and not paginator.count_is_estimated
    assert any(s.startswith("EXPLAIN") for s in statements)


# --- Estimates kept for a minute ------------------------------------------------------------


@pytest.mark.django_db
def test_an_estimate_is_kept_for_a_minute_and_then_asked_again(low_threshold, monkeypatch) -> None:
    _add_industries(1000)
    _analyze()
    queryset = Industry.objects.filter(position__gte=100)

    first, count, statements = _count(queryset)
    assert first.count_is_estimated and any(s.startswith("EXPLAIN") for s in statements)

    kept, again, statements = _count(queryset)
    assert again == count and kept.count_is_estimated
    assert statements == []  # nothing asked

    # Another filter is another estimate.
    _, _, statements = _count(Industry.objects.filter(position__gte=200))
    assert any(s.startswith("EXPLAIN") for s in statements)

    # A minute later the planner is asked again: the cache's clock moved, not a real wait.
    clock = _Clock()
    monkeypatch.setattr("django.core.cache.backends.base.time", clock)
    monkeypatch.setattr("django.core.cache.backends.locmem.time", clock)
    _count(Industry.objects.filter(position__gte=300))
    clock.now += 59
    _, _, statements = _count(Industry.objects.filter(position__gte=300))
    assert statements == []
    clock.now += 2
    _, _, statements = _count(Industry.objects.filter(position__gte=300))
    assert any(s.startswith("EXPLAIN") for s in statements)


class _Clock:
    """Stands in for the `time` module of Django's cache backends: time() is `now`."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


@pytest.mark.django_db
def test_a_sampled_estimate_is_kept_but_an_exact_count_never(every_third) -> None:
    sampled, count, statements = _count(every_third)
    assert sampled.count_is_estimated and any("TABLESAMPLE" in s for s in statements)
    again, _, statements = _count(every_third)
    assert again.count == count and not any("TABLESAMPLE" in s for s in statements)

    # Below the threshold the count is exact, and runs on every view: a row added since shows.
    few = Industry.objects.filter(position__lt=40)
    assert _count(few)[1] == 40
    Industry.objects.create(name="Added since", position=7)
    _, recount, statements = _count(few)
    assert recount == 41 and _counted(statements)


@pytest.mark.django_db
def test_a_sample_of_the_whole_table_is_counted_on_every_view(low_threshold) -> None:
    _add_industries(400)
    _analyze()
    probed = _probed(Industry.objects.all())(position__lt=130)
    assert _count(probed)[1] == 130
    Industry.objects.create(name="Added since", position=7)

    _, count, statements = _count(_probed(Industry.objects.all())(position__lt=130))

    assert count == 131 and any("TABLESAMPLE" in s for s in statements)


@pytest.mark.django_db
def test_table_row_estimates_asks_for_several_tables_at_once(low_threshold) -> None:
    from crm.models import Company
    from crm.pagination import table_row_estimate, table_row_estimates

    _add_industries(300)
    _analyze()
    with CaptureQueriesContext(connection) as ctx:
        both = table_row_estimates([Industry, Company])
    assert len(ctx.captured_queries) == 1
    assert both["crm_industry"] == table_row_estimate(Industry.objects.all()) > 0
    assert set(both) == {"crm_industry", "crm_company"}


@pytest.mark.django_db
def test_two_filters_are_two_estimates(low_threshold) -> None:
    # Kept by the statement as the server gets it: parameters whose repr() is cut short
    # (a JSON value's, as custom-field filters send) must not share an estimate.
    from django.db.models import Q

    from crm.models import Contact
    from crm.pagination import _kept, planned_rows

    north = Q(custom_fields__contains={"region": "Enterprise - North America, East Coast"})
    south = Q(custom_fields__contains={"region": "Enterprise - South America, East Coast"})
    keys = set()
    for condition in (north, south):
        sql, params = Contact.objects.filter(condition).query.sql_with_params()
        keys.add(_kept("plan", sql, params, "default")[0])
        planned_rows(sql, params, table="crm_contact")
    assert len(keys) == 2


@pytest.mark.django_db
def test_a_known_blind_list_sampled_below_the_threshold_is_counted_exactly(
    monkeypatch, settings
) -> None:
    # The sample finds enough rows to scale, but fewer than the threshold: as for any list,
    # the planner is asked, and below the threshold the rows are counted (a small or
    # mid-sized table, where the count is cheap).
    settings.ESTIMATED_COUNT_THRESHOLD = 1000
    monkeypatch.setattr("crm.pagination.SAMPLE_ROWS", 600)
    _add_industries(3000)
    _analyze()
    spread = range(0, 3000, 5)  # 600 rows, every fifth
    queryset = _probed(Industry.objects.filter(position__in=spread))(position__gte=0)

    paginator, count, _ = _count_blind(queryset)

    assert count == 600 and not paginator.count_is_estimated
