"""The pipeline board: stage columns of visible deals with SQL totals, a capped set of cards.

A board costs the same number of queries whatever the number of deals: the pipeline's stages,
the open deals' totals from the counters triggers keep (crm.selectors.stage_totals; per stage
and currency: amounts in different currencies are not added up), one aggregate of the deals
closed in the last CLOSED_RECENT_DAYS, one UNION ALL of "the first N cards of each stage"
(each arm an index range scan with a LIMIT, so a column of 100k deals reads N rows), and one
query for which of those cards the user may move. Won and lost columns show deals closed in the
last CLOSED_RECENT_DAYS only: the board is for work in progress, and the deal list has every
closed deal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Now
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from accounts.models import User
from crm import permissions
from crm.kept import as_uuid, kept_values
from crm.models import Company, Deal, Pipeline, Stage
from crm.record_urls import record_url
from crm.selectors.stage_totals import StageTotal, open_deal_totals
from crm.templatetags.crm_ui import money

CARDS_PER_COLUMN = 25
CLOSED_RECENT_DAYS = 30
ME = "me"

_CARD_FIELDS = (
    "id",
    "owner_id",  # who may move it, without a query for a user's own (editable_keys)
    "name",
    "amount",
    "currency",
    "expected_close_date",
    "stage_id",
    "status",
    "closed_at",
    "owner__name",
    "owner__email",
)


@dataclass
class Column:
    stage: Stage
    count: int = 0
    # (currency, total) pairs, largest first; usually one.
    totals: list[tuple[str, Decimal]] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)
    # The "Move to" menu's <option>s with this column's stage selected: the same for each of
    # its cards, so made once here instead of a template loop per card (150 cards x 7 stages
    # of template rendering was a third of the board's time at 1M rows).
    move_options: str = ""

    @property
    def is_closed(self) -> bool:
        return self.stage.is_won or self.stage.is_lost

    @property
    def more(self) -> int:
        return max(self.count - len(self.cards), 0)


@dataclass
class Board:
    pipeline: Pipeline | None
    columns: list[Column]
    owner: str  # "" (everyone), "me" or a user id, as in the URL

    @cached_property
    def stages(self) -> list[Stage]:
        return [column.stage for column in self.columns]


def board_pipelines() -> QuerySet[Pipeline]:
    """The pipelines the picker offers: active ones, in their order."""
    return Pipeline.objects.filter(is_active=True).order_by("-is_default", "position", "name")


def pick_pipeline(pipelines: list[Pipeline], wanted: str | None) -> Pipeline | None:
    """The pipeline named by the URL if it is one of `pipelines`, else the default one (else
    the first): an allow-list, so an unknown or inactive id is never used."""
    for pipeline in pipelines:
        if wanted and str(pipeline.pk) == wanted:
            return pipeline
    return next((p for p in pipelines if p.is_default), pipelines[0] if pipelines else None)


def owner_choices(user: Any) -> list[User]:
    """The users the owner filter offers: everyone active for an admin, otherwise the user's
    team (whose records the user may see some of)."""
    return list(permissions.team_users(user))


def pick_owner(user: Any, choices: list[User], wanted: str | None) -> tuple[str, Any]:
    """(the owner value as shown in the URL, the owner id to filter by or None for everyone),
    from the allow-list: "me" or the id of one of `choices`."""
    if wanted == ME:
        return ME, user.pk
    for choice in choices:
        if wanted and str(choice.pk) == wanted:
            return wanted, choice.pk
    return "", None


def _column_deals(*, user: Any, pipeline_id: Any, owner_id: Any, closed: bool) -> QuerySet[Deal]:
    """The visible deals of a pipeline an open column (closed=False: open deals) or a won or
    lost column (closed=True: deals closed in the last CLOSED_RECENT_DAYS) shows, optionally of
    one owner. Unordered. A deal whose status disagrees with its stage (an open deal in a won
    stage, possible only through imports or SQL) is on neither: the deal list shows it.

    The closing cutoff is computed in SQL (the statement's time less the days), not from the
    clock here: the board's statements are compiled once and run again (crm.kept)."""
    if closed:
        since = Now() - dt.timedelta(days=CLOSED_RECENT_DAYS)
        shown = Q(status__in=[Deal.Status.WON, Deal.Status.LOST], closed_at__gte=since)
    else:
        shown = Q(status=Deal.Status.OPEN)
    deals = Deal.objects.visible_to(user).filter(shown, pipeline_id=pipeline_id).order_by()
    if owner_id is not None:
        deals = deals.filter(owner_id=owner_id)
    return deals


# Open columns: soonest expected close first (deal_stage_close_idx). Won and lost columns:
# most recently closed first (deal_closed_recent_idx).
_OPEN_ORDER = (F("expected_close_date").asc(nulls_last=True), "name", "id")
_CLOSED_ORDER = (F("closed_at").desc(), "name", "id")


def _open_card_key(card: dict[str, Any]) -> tuple:
    close = card["expected_close_date"]
    return (close is None, close or dt.date.min, card["name"], str(card["id"]))


def _closed_card_key(card: dict[str, Any]) -> tuple:
    return (-card["closed_at"].timestamp(), card["name"], str(card["id"]))


def pipeline_board(
    *,
    user: Any,
    pipeline: Pipeline | None,
    owner: str = "",
    owner_id: Any = None,
    cards_per_column: int = CARDS_PER_COLUMN,
) -> Board:
    """The board of `pipeline` as `user` sees it: one column per stage in position order, each
    with the count and amount totals of all its shown deals (computed in SQL) and at most
    `cards_per_column` cards: soonest expected close first in open columns, most recently
    closed first in won and lost ones. Cards the user may change carry
    `can_move`. A bounded number of queries, whatever the number of deals."""
    if pipeline is None:
        return Board(pipeline=None, columns=[], owner=owner)
    columns = [Column(stage) for stage in pipeline.stages.order_by("position")]
    if not columns:
        return Board(pipeline=pipeline, columns=[], owner=owner)
    by_stage = {column.stage.pk: column for column in columns}
    stages = [column.stage for column in columns]
    for column in columns:
        column.move_options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (stage.pk, mark_safe(" selected") if stage == column.stage else "", stage.name)
                for stage in stages
            ),
        )
    # Each query below is compiled once per viewer's rules and shape of the board, the
    # pipeline, stage and owner keys put in their places (crm.kept): building and compiling
    # the visibility rules, the card arms and the company-name check were ~15 ms of a
    # board's ~40 ms of Python at 1M deals.
    rules = permissions.rules_key(user)
    mine = [] if owner_id is None else [as_uuid(owner_id)]

    def kept(name: str, shape: tuple, build: Any, keys: list[Any]) -> list[dict[str, Any]]:
        key = None if rules is None else (rules, "board", name, bool(mine), *shape)
        return kept_values(key, build, [pipeline.pk, *keys, *mine])

    def deals(pipeline_id: Any, given: tuple, closed: bool) -> QuerySet[Deal]:
        # given: the stage keys, then the owner's when filtered by one.
        owner = given[-1] if mine else None
        return _column_deals(user=user, pipeline_id=pipeline_id, owner_id=owner, closed=closed)

    # Open columns count from the counters the triggers keep (crm.selectors.stage_totals: no
    # scan of every visible open deal); won and lost columns count their month of closings
    # live (deal_closed_recent_idx), which no counter can hold.
    open_totals = open_deal_totals(user=user, stage_ids=by_stage, owner_id=owner_id)
    closed_totals: dict[Any, StageTotal] = {}
    # By the won and lost stages' ids, the leading column of deal_closed_recent_idx: with only
    # the pipeline, PostgreSQL read the whole index for the date and filtered (9 ms at 1M).
    closed_ids = [column.stage.pk for column in columns if column.is_closed]

    def grouped(pipeline_id: Any, *given: Any) -> QuerySet:
        return (
            deals(pipeline_id, given, True)
            .filter(stage_id__in=given[: len(closed_ids)])
            .values("stage_id", "currency")
            .annotate(n=Count("id"), t=Sum("amount"))
        )

    for row in kept("closed-totals", (len(closed_ids),), grouped, closed_ids):
        closed_totals.setdefault(row["stage_id"], StageTotal(amounts={})).add(
            row["currency"], row["n"], row["t"]
        )
    for column in columns:
        total = (closed_totals if column.is_closed else open_totals).get(column.stage.pk)
        if total is not None:
            column.count = total.count
            column.totals = total.by_size()

    # One arm per non-empty stage, each ORDER BY ... LIMIT on its own: the database stops
    # after `cards_per_column` rows per stage instead of sorting a 100k-deal column.
    # The company is named only when the user may see it (decided in the same query).
    shown = [column for column in columns if column.count]

    def arms(pipeline_id: Any, *given: Any) -> QuerySet:
        company_name = permissions.if_visible(user, Company, "company_id", F("company__name"))
        each = [
            deals(pipeline_id, given, column.is_closed)
            .filter(stage_id=stage_id)
            .order_by(*(_CLOSED_ORDER if column.is_closed else _OPEN_ORDER))
            .values(*_CARD_FIELDS, company_name=company_name)[:cards_per_column]
            for column, stage_id in zip(shown, given, strict=False)
        ]
        return each[0].union(*each[1:], all=True) if len(each) > 1 else each[0]

    cards: list[dict[str, Any]] = []
    if shown:
        shape = (tuple(column.is_closed for column in shown), cards_per_column)
        cards = kept("cards", shape, arms, [column.stage.pk for column in shown])
    movable = permissions.editable_keys(
        user, Deal, {card["id"]: card["owner_id"] for card in cards}
    )
    # URLs (crm.record_urls: one reverse() per URL name) and amounts made here, not per card
    # in the template: that was most of the board's rendering time at 1M rows.
    for card in cards:
        card["can_move"] = card["id"] in movable
        card["url"] = record_url("crm:deal.detail", card["id"])
        card["move_url"] = record_url("crm:deal.move", card["id"])
        card["amount_display"] = money(card["amount"], card["currency"])
        by_stage[card["stage_id"]].cards.append(card)
    # UNION ALL keeps no order across arms; each column sorts its own cards again (few).
    for column in columns:
        column.cards.sort(key=_closed_card_key if column.is_closed else _open_card_key)
    return Board(pipeline=pipeline, columns=columns, owner=owner)
