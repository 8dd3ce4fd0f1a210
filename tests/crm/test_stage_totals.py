"""The open-deal counters (crm.DealStageTotal) that triggers keep on crm_deal: after any mix of
writes, by any writer, they equal a GROUP BY of the open deals; and what a user reads of them
equals the same aggregate over the deals that user may see."""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, Sum

from accounts.models import User
from audit.models import AuditEvent
from crm.factories import DealFactory
from crm.models import Deal, DealStageTotal, Stage
from crm.selectors.stage_totals import open_deal_totals

pytestmark = pytest.mark.django_db


def _from_deals(deals: Any) -> dict[tuple, tuple[int, Decimal]]:
    rows = (
        deals.filter(status=Deal.Status.OPEN)
        .order_by()
        .values("stage_id", "owner_id", "shared_with_team", "currency")
        .annotate(n=Count("id"), total=Sum("amount"))
    )
    return {
        (r["stage_id"], r["owner_id"], r["shared_with_team"], r["currency"]): (r["n"], r["total"])
        for r in rows
    }


def _counters() -> dict[tuple, tuple[int, Decimal]]:
    return {
        (t.stage_id, t.owner_id, t.shared_with_team, t.currency): (t.deal_count, t.amount_total)
        for t in DealStageTotal.objects.all()
    }


def _assert_in_step() -> None:
    assert _counters() == _from_deals(Deal.objects.all())
    # Groups left without open deals are removed, not kept at zero.
    assert not DealStageTotal.objects.filter(deal_count=0).exists()


def test_counters_follow_every_kind_of_write(
    sales_rep: User, teammate: User, stages: dict[str, Stage]
) -> None:
    rng = random.Random(8)
    stage_list = list(stages.values())
    owners = [sales_rep, teammate, None]

    def new_deal() -> Deal:
        stage = rng.choice(stage_list)
        return DealFactory(
            pipeline=stage.pipeline,
            stage=stage,
            owner=rng.choice(owners),
            amount=Decimal(rng.randrange(0, 10_000)),
            currency=rng.choice(["USD", "EUR"]),
            shared_with_team=rng.random() < 0.5,
            status=rng.choice([Deal.Status.OPEN, Deal.Status.OPEN, Deal.Status.WON]),
        )

    deals = [new_deal() for _ in range(30)]
    _assert_in_step()
    for step in range(60):
        deal = rng.choice(deals)
        deal.refresh_from_db()
        change = step % 6
        if change == 0:
            deal.stage = rng.choice(stage_list)
        elif change == 1:
            deal.amount = Decimal(rng.randrange(0, 10_000))
        elif change == 2:
            deal.owner = rng.choice(owners)
        elif change == 3:
            deal.currency = "EUR" if deal.currency == "USD" else "USD"
        elif change == 4:
            deal.status = Deal.Status.LOST if deal.status == Deal.Status.OPEN else "open"
        else:
            deal.shared_with_team = not deal.shared_with_team
        deal.save()
        _assert_in_step()

    # Set-based writes: one statement, many rows, several groups at once.
    Deal.objects.filter(currency="USD").update(amount=Decimal("5.00"))
    _assert_in_step()
    Deal.objects.filter(owner=teammate).update(owner=sales_rep, shared_with_team=True)
    _assert_in_step()
    Deal.objects.bulk_create(
        [
            Deal(
                name=f"Bulk {i}",
                pipeline=stage_list[0].pipeline,
                stage=stage_list[0],
                owner=sales_rep,
                amount=Decimal(i),
                currency="USD",
            )
            for i in range(20)
        ]
    )
    _assert_in_step()
    # A writer outside the app: raw SQL, as psql or an import would.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE crm_deal SET amount = amount + 1 WHERE currency = 'EUR'")
    _assert_in_step()
    Deal.objects.filter(amount__lt=10).delete()
    _assert_in_step()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred FK checks pending
        cursor.execute("TRUNCATE crm_deal CASCADE")
    assert not DealStageTotal.objects.exists()


def test_a_rolled_back_write_leaves_the_counters_as_they_were(
    sales_rep: User, stages: dict[str, Stage]
) -> None:
    from django.db import transaction

    stage = stages["Proposal"]
    DealFactory(pipeline=stage.pipeline, stage=stage, owner=sales_rep, amount=Decimal(100))
    before = _counters()
    with pytest.raises(RuntimeError), transaction.atomic():
        DealFactory(pipeline=stage.pipeline, stage=stage, owner=sales_rep, amount=Decimal(7))
        raise RuntimeError("the request failed")
    assert _counters() == before


def test_counters_are_not_audited(sales_rep: User, stages: dict[str, Stage]) -> None:
    stage = stages["Proposal"]
    DealFactory(pipeline=stage.pipeline, stage=stage, owner=sales_rep)
    assert DealStageTotal.objects.exists()
    assert not AuditEvent.objects.filter(table_name=DealStageTotal._meta.db_table).exists()
    assert AuditEvent.objects.filter(table_name=Deal._meta.db_table).exists()


def _visible_totals(user: User, stage_ids: list, owner_id: Any = None) -> dict:
    deals = Deal.objects.visible_to(user).filter(status=Deal.Status.OPEN, stage_id__in=stage_ids)
    if owner_id is not None:
        deals = deals.filter(owner_id=owner_id)
    expected: dict[Any, tuple[int, dict]] = {}
    counts: dict[Any, int] = defaultdict(int)
    amounts: dict[Any, dict] = defaultdict(dict)
    for row in (
        deals.order_by()
        .values("stage_id", "currency")
        .annotate(n=Count("id"), total=Sum("amount"))
    ):
        counts[row["stage_id"]] += row["n"]
        amounts[row["stage_id"]][row["currency"]] = row["total"]
    for stage_id in counts:
        expected[stage_id] = (counts[stage_id], amounts[stage_id])
    return expected


@pytest.mark.parametrize("who", ["sales_rep", "teammate", "manager", "outsider", "admin_user"])
def test_each_user_reads_the_totals_of_the_deals_they_may_see(
    who: str,
    request: pytest.FixtureRequest,
    sales_rep: User,
    teammate: User,
    manager: User,
    outsider: User,
    stages: dict[str, Stage],
) -> None:
    user = request.getfixturevalue(who)
    rng = random.Random(3)
    stage_list = [s for s in stages.values() if not (s.is_won or s.is_lost)]
    for i in range(40):
        stage = rng.choice(stage_list)
        deal = DealFactory(
            pipeline=stage.pipeline,
            stage=stage,
            owner=rng.choice([sales_rep, teammate, manager, outsider, None]),
            amount=Decimal(rng.randrange(1, 1000)),
            currency=rng.choice(["USD", "EUR"]),
            shared_with_team=i % 3 == 0,
        )
        # Watched deals are visible whoever owns them: the part counted live.
        if i % 5 == 0:
            deal.watchers.add(user)
    stage_ids = [s.pk for s in stages.values()]
    for owner_id in (None, sales_rep.pk, outsider.pk):
        got = open_deal_totals(user=user, stage_ids=stage_ids, owner_id=owner_id)
        assert {k: (v.count, v.amounts) for k, v in got.items()} == _visible_totals(
            user, stage_ids, owner_id
        ), owner_id


def test_an_inactive_user_reads_nothing(sales_rep: User, stages: dict[str, Stage]) -> None:
    stage = stages["Proposal"]
    DealFactory(pipeline=stage.pipeline, stage=stage, owner=sales_rep)
    sales_rep.is_active = False
    assert open_deal_totals(user=sales_rep, stage_ids=[stage.pk]) == {}
