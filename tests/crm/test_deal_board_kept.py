"""The pipeline board's queries are compiled once per viewer's rules and board shape and run
again with other keys (crm.kept, crm.selectors.board): each board, owner filter and viewer
still gets its own cards, totals and move rights."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from crm import kept
from crm.factories import DealFactory, PipelineFactory, StageFactory
from crm.models import Deal, Stage
from crm.selectors.board import pipeline_board

pytestmark = pytest.mark.django_db


def _pipeline(name: str) -> tuple[Any, dict[str, Stage]]:
    pipeline = PipelineFactory(name=name)
    stages = {
        "Open": StageFactory(pipeline=pipeline, name=f"{name} open", position=1),
        "Won": StageFactory(pipeline=pipeline, name=f"{name} won", position=2, is_won=True),
    }
    return pipeline, stages


def _deal(owner: User, stage: Stage, name: str, **kwargs: Any) -> Deal:
    return DealFactory(
        owner=owner, pipeline=stage.pipeline, stage=stage, name=name, amount=Decimal(10), **kwargs
    )


def _cards(board: Any) -> dict[str, list[str]]:
    return {c.stage.name: sorted(card["name"] for card in c.cards) for c in board.columns}


def test_each_pipeline_shows_its_own_cards_from_the_kept_queries(sales_rep: User) -> None:
    north, north_stages = _pipeline("North")
    south, south_stages = _pipeline("South")
    _deal(sales_rep, north_stages["Open"], "N1")
    _deal(sales_rep, south_stages["Open"], "S1")
    now = timezone.now()
    _deal(sales_rep, south_stages["Won"], "S2", status=Deal.Status.WON, closed_at=now)
    for _ in range(2):  # the second round runs what the first compiled
        assert _cards(pipeline_board(user=sales_rep, pipeline=north)) == {
            "North open": ["N1"],
            "North won": [],
        }
        board = pipeline_board(user=sales_rep, pipeline=south)
        assert _cards(board) == {"South open": ["S1"], "South won": ["S2"]}
        assert [c.count for c in board.columns] == [1, 1]
    assert kept._PLAIN not in kept.compiled.values()


def test_each_owner_filter_shows_that_owner_s_deals(
    manager: User, sales_rep: User, teammate: User
) -> None:
    pipeline, stages = _pipeline("West")
    _deal(sales_rep, stages["Open"], "Rep's")
    _deal(teammate, stages["Open"], "Mate's")
    for _ in range(2):
        for owner, names in ((sales_rep, ["Rep's"]), (teammate, ["Mate's"])):
            board = pipeline_board(user=manager, pipeline=pipeline, owner_id=owner.pk)
            assert _cards(board)["West open"] == names
        everyone = pipeline_board(user=manager, pipeline=pipeline)
        assert _cards(everyone)["West open"] == ["Mate's", "Rep's"]


def test_move_rights_are_each_viewer_s_own(
    sales_rep: User, teammate: User, outsider: User
) -> None:
    pipeline, stages = _pipeline("East")
    _deal(sales_rep, stages["Open"], "Rep's", shared_with_team=False)
    watched = _deal(outsider, stages["Open"], "Watched")
    watched.watchers.add(sales_rep)
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            board = pipeline_board(user=sales_rep, pipeline=pipeline)
        movable = {card["name"]: card["can_move"] for card in board.columns[0].cards}
        # Their own deal is movable, a watched one only visible; the watched one needs the
        # edit check's query, their own does not.
        assert movable == {"Rep's": True, "Watched": False}
        assert any("pk" in q["sql"] and "ANY" in q["sql"] for q in queries.captured_queries)
        # A teammate (no manager) sees neither: not their deal, not shared, not watched.
        mate_board = pipeline_board(user=teammate, pipeline=pipeline)
        assert mate_board.columns[0].cards == []
