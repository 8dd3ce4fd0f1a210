"""Count estimates kept a minute per worker (crm.pagination._kept), and several tables'
sizes in one query."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Industry
from tests.crm.pagination_helpers import (
    add_industries,
    analyze,
    counted_exactly,
    estimate_blind,
    estimate_of,
    probe_filter,
)

# --- Estimates kept for a minute ------------------------------------------------------------


@pytest.mark.django_db
def test_an_estimate_is_kept_for_a_minute_and_then_asked_again(low_threshold, monkeypatch) -> None:
    add_industries(1000)
    analyze()
    queryset = Industry.objects.filter(position__gte=100)

    first, count, statements = estimate_of(queryset)
    assert first.count_is_estimated and any(s.startswith("EXPLAIN") for s in statements)

    kept, again, statements = estimate_of(queryset)
    assert again == count and kept.count_is_estimated
    assert statements == []  # nothing asked

    # Another filter is another estimate.
    _, _, statements = estimate_of(Industry.objects.filter(position__gte=200))
    assert any(s.startswith("EXPLAIN") for s in statements)

    # A minute later the planner is asked again: the cache's clock moved, not a real wait.
    clock = _Clock()
    monkeypatch.setattr("django.core.cache.backends.base.time", clock)
    monkeypatch.setattr("django.core.cache.backends.locmem.time", clock)
    estimate_of(Industry.objects.filter(position__gte=300))
    clock.now += 59
    _, _, statements = estimate_of(Industry.objects.filter(position__gte=300))
    assert statements == []
    clock.now += 2
    _, _, statements = estimate_of(Industry.objects.filter(position__gte=300))
    assert any(s.startswith("EXPLAIN") for s in statements)


class _Clock:
    """Stands in for the `time` module of Django's cache backends: time() is `now`."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


@pytest.mark.django_db
def test_a_sampled_estimate_is_kept_but_an_exact_count_never(every_third) -> None:
    sampled, count, statements = estimate_of(every_third)
    assert sampled.count_is_estimated and any("TABLESAMPLE" in s for s in statements)
    again, _, statements = estimate_of(every_third)
    assert again.count == count and not any("TABLESAMPLE" in s for s in statements)

    # Below the threshold the count is exact, and runs on every view: a row added since shows.
    few = Industry.objects.filter(position__lt=40)
    assert estimate_of(few)[1] == 40
    Industry.objects.create(name="Added since", position=7)
    _, recount, statements = estimate_of(few)
    assert recount == 41 and counted_exactly(statements)


@pytest.mark.django_db
def test_a_sample_of_the_whole_table_is_counted_on_every_view(low_threshold) -> None:
    add_industries(400)
    analyze()
    narrowed = probe_filter(Industry.objects.all())(position__lt=130)
    assert estimate_of(narrowed)[1] == 130
    Industry.objects.create(name="Added since", position=7)

    _, count, statements = estimate_of(probe_filter(Industry.objects.all())(position__lt=130))

    assert count == 131 and any("TABLESAMPLE" in s for s in statements)


@pytest.mark.django_db
def test_table_row_estimates_asks_for_several_tables_at_once(low_threshold) -> None:
    from crm.models import Company
    from crm.pagination import table_row_estimate, table_row_estimates

    add_industries(300)
    analyze()
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
    add_industries(3000)
    analyze()
    spread = range(0, 3000, 5)  # 600 rows, every fifth
    queryset = probe_filter(Industry.objects.filter(position__in=spread))(position__gte=0)

    paginator, count, _ = estimate_blind(queryset)

    assert count == 600 and not paginator.count_is_estimated
