"""EstimatedCountPaginator where the planner is blind (a correlated subquery filter): counts
scaled from a TABLESAMPLE of the table, asked first when the caller knows (probes_rows)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Industry
from tests.crm.pagination_helpers import (
    EVERY_THIRD,
    add_industries,
    analyze,
    estimate_blind,
    estimate_of,
    probe_filter,
)


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

    paginator, count, statements = estimate_of(queryset)

    assert 600 < count < 1400
    assert paginator.count_is_estimated and not paginator.count_is_rough
    assert any("TABLESAMPLE SYSTEM" in sql for sql in statements)
    # No exact count of the filter (Django's `SELECT COUNT(*) AS "__count"`) was run.
    assert not any("COUNT(*) AS" in sql.upper() for sql in statements)


@pytest.mark.django_db
def test_a_sample_with_too_few_matches_is_rough(sampled_table) -> None:

    paginator, _, _ = estimate_of(
        probe_filter(Industry.objects.all())(position__in=[5, 1500, 2900])
    )

    assert paginator.count_is_estimated and paginator.count_is_rough


@pytest.mark.django_db
def test_a_sample_of_the_whole_table_is_the_exact_count(low_threshold) -> None:
    # Fewer rows than SAMPLE_ROWS: the "sample" is every page, so its count is exact.
    add_industries(400)
    analyze()

    paginator, count, _ = estimate_of(probe_filter(Industry.objects.all())(position__lt=130))

    assert count == 130
    assert not paginator.count_is_estimated


@pytest.mark.django_db
def test_a_column_filter_is_not_sampled(low_threshold) -> None:
    add_industries(1000)
    analyze()

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
    paginator, count, statements = estimate_of(queryset)

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

    paginator, count, statements = estimate_of(every_third)

    assert paginator.count_is_estimated and count == planned.rows  # the planner's number
    assert not any("TABLESAMPLE" in sql for sql in statements)


@pytest.mark.django_db
def test_a_union_is_not_sampled(sampled_table) -> None:
    narrowed = probe_filter(Industry.objects.all())
    queryset = narrowed(position__in=EVERY_THIRD).union(narrowed(position__lt=10)).order_by("name")

    paginator, count, statements = estimate_of(queryset)

    assert paginator.count_is_estimated and count > 0
    assert not any("TABLESAMPLE" in sql for sql in statements)


# --- Known to be blind: the caller says so (crm.permissions.probes_rows) --------------------


@pytest.mark.django_db
@pytest.mark.parametrize("sql", [True, False], ids=["first page", "later page"])
def test_a_list_known_to_be_blind_is_sampled_without_asking_the_planner(every_third, sql) -> None:
    paginator, count, statements = estimate_blind(every_third, sql=sql)

    assert 600 < count < 1400
    assert paginator.count_is_estimated and not paginator.count_is_rough
    assert any("TABLESAMPLE SYSTEM" in s for s in statements)
    assert not any(s.startswith("EXPLAIN") for s in statements)
    # The same number as asking the planner first, which then samples the same pages.
    assert count == estimate_of(every_third)[1]


@pytest.mark.django_db
def test_a_known_blind_sample_too_small_to_scale_asks_the_planner(sampled_table) -> None:
    # Three matches in 3,000 rows: the sample holds too few to scale. The planner, asked
    # next, is blind too ("nearly all of them"): the page says "more than" what it shows.
    queryset = probe_filter(Industry.objects.all())(position__in=[5, 1500, 2900])

    paginator, _, statements = estimate_blind(queryset)

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
    queryset = probe_filter(Industry.objects.filter(position__in=spread))(position__gte=0)

    paginator, count, statements = estimate_blind(queryset)

    assert count == 15 and not paginator.count_is_estimated
    assert any(s.startswith("EXPLAIN") for s in statements)
