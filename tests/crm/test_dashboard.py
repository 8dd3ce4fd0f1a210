"""The dashboard: my open tasks (overdue first), my deals by stage, deals closing this month,
recent activity on visible records; a fixed query budget."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from crm.factories import CompanyFactory, ContactFactory, DealFactory, TaskFactory
from crm.models import Deal, Pipeline, Stage, Task
from crm.selectors.dashboard import (
    deals_closing_this_month,
    month_bounds,
    my_deals_by_stage,
    my_open_tasks,
    recent_activity,
)

pytestmark = pytest.mark.django_db


def _deal(owner: User, stage: Stage, amount: int = 100, **kwargs: Any) -> Deal:
    return DealFactory(
        owner=owner, pipeline=stage.pipeline, stage=stage, amount=Decimal(amount), **kwargs
    )


def test_my_open_tasks_are_mine_open_and_overdue_first(sales_rep: User, teammate: User) -> None:
    now = timezone.now()
    later = TaskFactory(owner=sales_rep, title="Later", due_at=now + dt.timedelta(days=3))
    overdue = TaskFactory(owner=sales_rep, title="Overdue", due_at=now - dt.timedelta(days=2))
    undated = TaskFactory(owner=sales_rep, title="Someday", due_at=None)
    TaskFactory(owner=sales_rep, title="Done", status=Task.Status.DONE, completed_at=now)
    TaskFactory(owner=teammate, title="Not mine")
    tasks = my_open_tasks(user=sales_rep)
    assert tasks == [overdue, later, undated]
    assert tasks[0].is_overdue and not tasks[1].is_overdue


def test_my_deals_by_stage_counts_and_totals_only_my_open_deals(
    sales_rep: User, teammate: User, pipeline: Pipeline, stages: dict[str, Stage]
) -> None:
    _deal(sales_rep, stages["Proposal"], 1000)
    _deal(sales_rep, stages["Proposal"], 500)
    _deal(sales_rep, stages["Negotiation"], 50, currency="EUR")
    _deal(teammate, stages["Proposal"], 9999, shared_with_team=True)
    _deal(sales_rep, stages["Closed won"], 7777, status=Deal.Status.WON)
    shown, rows, totals = my_deals_by_stage(user=sales_rep)
    assert shown == pipeline
    by_name = {row.stage.name: row for row in rows}
    assert (by_name["Proposal"].count, by_name["Proposal"].totals) == (
        2,
        {"USD": Decimal("1500.00")},
    )
    assert by_name["Negotiation"].totals == {"EUR": Decimal("50.00")}
    assert by_name["Closed won"].count == 0
    assert totals == {"count": 3, "totals": {"USD": Decimal("1500.00"), "EUR": Decimal("50.00")}}


def test_deals_closing_this_month_are_visible_open_and_sorted(
    sales_rep: User, outsider: User, stages: dict[str, Stage]
) -> None:
    first, last = month_bounds(timezone.localdate())
    late = _deal(sales_rep, stages["Proposal"], expected_close_date=last)
    early = _deal(sales_rep, stages["Proposal"], expected_close_date=first)
    _deal(sales_rep, stages["Proposal"], expected_close_date=last + dt.timedelta(days=1))
    _deal(sales_rep, stages["Closed won"], expected_close_date=first, status=Deal.Status.WON)
    _deal(outsider, stages["Proposal"], expected_close_date=first)
    assert deals_closing_this_month(user=sales_rep) == [early, late]


def test_month_bounds_handle_december_and_february() -> None:
    assert month_bounds(dt.date(2026, 12, 15)) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert month_bounds(dt.date(2028, 2, 3)) == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))


def test_recent_activity_lists_changes_on_visible_records_only(
    sales_rep: User, outsider: User, stages: dict[str, Stage]
) -> None:
    mine = CompanyFactory(name="Mine Inc", owner=sales_rep)
    CompanyFactory(name="Hidden Inc", owner=outsider)
    deal = _deal(sales_rep, stages["Proposal"], name="Mine deal", company=mine)
    deal.name = "Mine deal v2"
    deal.save()
    activity = recent_activity(user=sales_rep)
    names = [str(item.record) for item in activity]
    assert "Hidden Inc" not in names
    assert names[0] == "Mine deal v2" and activity[0].verb == "changed"
    assert "name" in activity[0].changed
    assert "Mine Inc" in names


def test_recent_activity_is_capped_and_newest_first(sales_rep: User) -> None:
    contacts = [ContactFactory(owner=sales_rep, company=None) for _ in range(20)]
    activity = recent_activity(user=sales_rep, limit=15)
    assert len(activity) == 15
    assert [item.record.pk for item in activity[:3]] == [c.pk for c in contacts[::-1][:3]]
    times = [item.occurred_at for item in activity]
    assert times == sorted(times, reverse=True)


def test_dashboard_page_shows_the_four_cards(
    login: Any, sales_rep: User, stages: dict[str, Stage]
) -> None:
    TaskFactory(owner=sales_rep, title="Call Ada back")
    _deal(
        sales_rep,
        stages["Proposal"],
        1234,
        name="Engines pilot",
        expected_close_date=timezone.localdate(),
    )
    response = login(sales_rep).get(reverse("crm:home"))
    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        "My open tasks",
        "My deals by stage",
        "Deals closing this month",
        "Recent activity",
        "Call Ada back",
        "Engines pilot",
        "1,234.00 USD",
    ):
        assert text in html
    assert reverse("crm:task.mine") in html
    assert "style=" not in html


@pytest.mark.parametrize("rows", [3, 30])
def test_dashboard_query_budget_is_the_same_for_3_and_30_rows(
    rows: int,
    login: Any,
    sales_rep: User,
    stages: dict[str, Stage],
    django_assert_max_num_queries: Any,
) -> None:
    today = timezone.localdate()
    for n in range(rows):
        company = CompanyFactory(owner=sales_rep)
        ContactFactory(owner=sales_rep, company=company)
        _deal(sales_rep, stages["Proposal"], n, company=company, expected_close_date=today)
        TaskFactory(owner=sales_rep)
    client = login(sales_rep)
    # session + user; default pipeline, stages, team, my deals grouped (+ the watched ids of
    # every kind, one query once); tasks; closing; activity: 4 record lists and the audit
    # query.
    with django_assert_max_num_queries(25):
        assert client.get(reverse("crm:home")).status_code == 200
