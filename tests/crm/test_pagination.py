"""EstimatedCountPaginator: estimates from PostgreSQL on large tables, exact counts on small."""

from __future__ import annotations

import pytest

from crm.models import Industry
from crm.pagination import EstimatedCountPaginator
from tests.crm.pagination_helpers import add_industries, analyze, counted_exactly, estimate_of


@pytest.mark.django_db
def test_unfiltered_large_table_uses_catalog_statistics_not_count(low_threshold) -> None:
    add_industries(500)
    analyze()

    paginator, count, statements = estimate_of(Industry.objects.all())

    assert count == 500  # ANALYZE read the whole (small) table
    assert paginator.count_is_estimated
    assert len(statements) == 1
    assert "pg_class" in statements[0]
    assert not counted_exactly(statements)
    assert paginator.num_pages == 20


@pytest.mark.django_db
def test_estimate_follows_rows_added_since_the_last_analyze(low_threshold) -> None:
    # A bulk import lands between autovacuum runs: the stale reltuples is scaled by the
    # table's current size, as the planner does, instead of being trusted as is.
    add_industries(2000)
    analyze()
    add_industries(2000, start=2000)

    paginator, count, statements = estimate_of(Industry.objects.all())

    assert 3000 < count < 5000
    assert paginator.count_is_estimated
    assert not counted_exactly(statements)


@pytest.mark.django_db
def test_filtered_large_queryset_uses_the_planner_estimate(low_threshold) -> None:
    add_industries(1000)
    analyze()

    paginator, count, statements = estimate_of(Industry.objects.filter(position__gte=500))

    assert 300 < count < 700  # the planner's estimate of 500 matching rows
    assert paginator.count_is_estimated
    assert statements[0].startswith("EXPLAIN (FORMAT JSON)")
    assert not counted_exactly(statements)


@pytest.mark.django_db
def test_small_counts_are_exact(low_threshold) -> None:
    add_industries(1000)
    analyze()

    paginator, count, statements = estimate_of(Industry.objects.filter(position__lt=7))

    assert count == 7
    assert not paginator.count_is_estimated
    assert counted_exactly(statements)


@pytest.mark.django_db
def test_small_table_is_counted_exactly_with_the_default_threshold() -> None:
    add_industries(30)
    analyze()

    paginator, count, _ = estimate_of(Industry.objects.all())

    assert count == 30
    assert not paginator.count_is_estimated


@pytest.mark.django_db
def test_queryset_that_cannot_match_counts_zero_without_a_query() -> None:
    _, count, statements = estimate_of(Industry.objects.filter(pk__in=[]))

    assert count == 0
    assert statements == []


def test_plain_lists_are_counted_by_length() -> None:
    assert EstimatedCountPaginator(list(range(42)), 10).count == 42


@pytest.mark.django_db
def test_an_underestimate_is_counted_only_up_to_the_bound(low_threshold) -> None:
    # The planner thinks few rows match (statistics from before a bulk load): the exact count
    # that follows stops at threshold + 1 rows instead of counting the whole table.
    add_industries(10)
    analyze()
    add_industries(3000, start=10)
    queryset = Industry.objects.filter(position__gte=0, name__startswith="Industry")

    paginator, count, statements = estimate_of(queryset)

    counting = [sql for sql in statements if "COUNT(" in sql.upper()]
    assert counting and all("LIMIT 101" in sql for sql in counting)
    assert count >= 101
    assert paginator.count_is_estimated


@pytest.mark.django_db
def test_a_small_result_is_counted_exactly(low_threshold) -> None:
    add_industries(40)
    analyze()

    paginator, count, _ = estimate_of(Industry.objects.filter(position__lt=30))

    assert count == 30
    assert not paginator.count_is_estimated
