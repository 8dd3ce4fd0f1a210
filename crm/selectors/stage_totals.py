"""Count and amount of the open deals a user may see, per stage and currency: what the pipeline
board's column heads and the dashboard's "my open deals" show.

Read from crm.DealStageTotal (kept by triggers on crm_deal, see crm/models/stage_totals.py),
not by aggregating deals: a few hundred counter rows per pipeline instead of every visible open
deal (30,000 for a manager at 200k deals). The counter rows are filtered by the same rule as
the deals (`permissions.visible_split`); the deals a user sees only because they watch them are
the one part no counter row can say, so they are added up live, from their primary keys.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum

from crm import permissions
from crm.kept import as_uuid, kept_values
from crm.models import Deal, DealStageTotal


@dataclass
class StageTotal:
    count: int = 0
    # currency -> amount; usually one currency. Amounts in different currencies never add up.
    amounts: dict[str, Decimal] | None = None

    def add(self, currency: str, count: int, amount: Decimal | None) -> None:
        self.count += count
        self.amounts[currency] = self.amounts.get(currency, Decimal(0)) + (amount or Decimal(0))

    def by_size(self) -> list[tuple[str, Decimal]]:
        """(currency, amount) pairs, largest first."""
        return sorted((self.amounts or {}).items(), key=lambda kv: -kv[1])


def open_deal_totals(
    *, user: Any, stage_ids: Iterable[Any], owner_id: Any = None
) -> dict[Any, StageTotal]:
    """stage id -> the count and amounts of the open deals `user` may see in that stage
    (optionally of one owner). Stages without such deals are absent. One query, two when the
    user watches deals, each compiled once per viewer's rules and number of stages (crm.kept:
    the board's and the dashboard's heads, ~1.5 ms of ORM work a query at 1M deals)."""
    stage_ids = [as_uuid(pk) for pk in stage_ids]
    totals: dict[Any, StageTotal] = defaultdict(lambda: StageTotal(amounts={}))
    if not stage_ids:
        return {}
    rule, extra_ids = permissions.visible_split(user, Deal)
    mine = [] if owner_id is None else [as_uuid(owner_id)]
    rules = permissions.rules_key(user)
    shape = (len(stage_ids), bool(mine))

    def kept(name: str, build: Any) -> list[dict[str, Any]]:
        key = None if rules is None else (rules, "stage-totals", name, *shape)
        return kept_values(key, lambda *keys: build(list(keys)), [*stage_ids, *mine])

    def by_stage(rows: Any, keys: list[Any], n: Any, total: Any) -> Any:
        if mine:
            rows = rows.filter(owner_id=keys[-1])
        return rows.order_by().values("stage_id", "currency").annotate(n=n, total=total)

    def counters(keys: list[Any]) -> Any:
        rows = DealStageTotal.objects.filter(stage_id__in=keys[: len(stage_ids)])
        if rule is not None:
            rows = rows.filter(rule)
        return by_stage(rows, keys, Sum("deal_count"), Sum("amount_total"))

    def watched(keys: list[Any]) -> Any:
        # Watched deals the owner rule does not already count, each counted once.
        rows = Deal.objects.filter(
            pk__any=extra_ids, stage_id__in=keys[: len(stage_ids)], status=Deal.Status.OPEN
        ).exclude(rule)
        return by_stage(rows, keys, Count("id"), Sum("amount"))

    grouped = kept("counters", counters)
    if extra_ids and rule is not None:
        grouped += kept("watched", watched)
    for row in grouped:
        totals[row["stage_id"]].add(row["currency"], row["n"], row["total"])
    return dict(totals)
