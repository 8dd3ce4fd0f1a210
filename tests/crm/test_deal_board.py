"""The pipeline board: columns with SQL totals, the owner filter, capped columns, and moving a
deal (audited, permission-checked, refused for another pipeline's stage)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent
from crm.factories import DealFactory, PipelineFactory, StageFactory
from crm.models import Deal, Pipeline, Stage
from crm.selectors.board import pipeline_board

pytestmark = pytest.mark.django_db


def _deal(owner: User, stage: Stage, amount: int, **kwargs: Any) -> Deal:
    return DealFactory(
        owner=owner, pipeline=stage.pipeline, stage=stage, amount=Decimal(amount), **kwargs
    )


def _column(board: Any, name: str) -> Any:
    return next(column for column in board.columns if column.stage.name == name)


def test_columns_follow_stage_order_with_counts_and_totals(
    sales_rep: User, pipeline: Pipeline, stages: dict[str, Stage]
) -> None:
    _deal(sales_rep, stages["Proposal"], 1000)
    _deal(sales_rep, stages["Proposal"], 2500)
    _deal(sales_rep, stages["Qualification"], 400)
    _deal(sales_rep, stages["Qualification"], 100, currency="EUR")
    board = pipeline_board(user=sales_rep, pipeline=pipeline)
    assert [c.stage.name for c in board.columns] == [
        "Qualification",
        "Needs analysis",
        "Proposal",
        "Negotiation",
        "Closed won",
        "Closed lost",
    ]
    proposal = _column(board, "Proposal")
    assert (proposal.count, proposal.totals) == (2, [("USD", Decimal("3500.00"))])
    qualification = _column(board, "Qualification")
    # Amounts in different currencies are totalled apart, never added up.
    assert qualification.count == 2
    assert dict(qualification.totals) == {"USD": Decimal("400.00"), "EUR": Decimal("100.00")}
    assert _column(board, "Negotiation").count == 0


def test_board_shows_only_visible_deals_and_recently_closed_ones(
    sales_rep: User, outsider: User, pipeline: Pipeline, stages: dict[str, Stage]
) -> None:
    _deal(outsider, stages["Proposal"], 999)
    won = stages["Closed won"]
    _deal(sales_rep, won, 10, status=Deal.Status.WON, closed_at=timezone.now())
    old = timezone.now() - dt.timedelta(days=90)
    _deal(sales_rep, won, 20, status=Deal.Status.WON, closed_at=old)
    board = pipeline_board(user=sales_rep, pipeline=pipeline)
    assert _column(board, "Proposal").count == 0
    assert _column(board, "Closed won").count == 1


def test_a_huge_column_shows_capped_cards_but_full_totals(
    sales_rep: User, pipeline: Pipeline, stages: dict[str, Stage]
) -> None:
    for _ in range(7):
        _deal(sales_rep, stages["Proposal"], 100)
    board = pipeline_board(user=sales_rep, pipeline=pipeline, cards_per_column=5)
    column = _column(board, "Proposal")
    assert (len(column.cards), column.count, column.more) == (5, 7, 2)
    assert column.totals == [("USD", Decimal("700.00"))]


def test_board_page_renders_cards_totals_and_a_more_link(
    login: Any, sales_rep: User, pipeline: Pipeline, stages: dict[str, Stage]
) -> None:
    deal = _deal(sales_rep, stages["Proposal"], 1234, name="Acme rollout")
    html = login(sales_rep).get(reverse("crm:deal.board")).content.decode()
    assert "Acme rollout" in html and "1,234.00 USD" in html
    assert f'data-drop-stage="{stages["Proposal"].pk}"' in html
    assert reverse("crm:deal.move", args=[deal.pk]) in html
    assert 'draggable="true"' in html
    assert "style=" not in html and "<script>" not in html


def test_owner_filter_shows_only_that_owners_deals(
    login: Any,
    manager: User,
    sales_rep: User,
    teammate: User,
    pipeline: Pipeline,
    stages: dict[str, Stage],
) -> None:
    _deal(sales_rep, stages["Proposal"], 100, name="Rep deal")
    _deal(teammate, stages["Proposal"], 100, name="Mate deal")
    client = login(manager)
    html = client.get(reverse("crm:deal.board"), {"owner": str(sales_rep.pk)}).content.decode()
    assert "Rep deal" in html and "Mate deal" not in html
    both = client.get(reverse("crm:deal.board"), {"owner": "not-a-user"}).content.decode()
    assert "Rep deal" in both and "Mate deal" in both  # unknown values are ignored
    mine = client.get(reverse("crm:deal.board"), {"owner": "me"}).content.decode()
    assert "Rep deal" not in mine


def test_pipeline_picker_switches_pipelines_and_ignores_unknown_ids(
    login: Any, sales_rep: User, pipeline: Pipeline, stages: dict[str, Stage]
) -> None:
    other = PipelineFactory(name="Partners")
    _deal(sales_rep, StageFactory(pipeline=other, name="Intro", position=0), 5, name="P deal")
    _deal(sales_rep, stages["Proposal"], 5, name="Sales deal")
    client = login(sales_rep)
    html = client.get(reverse("crm:deal.board"), {"pipeline": str(other.pk)}).content.decode()
    assert "P deal" in html and "Sales deal" not in html
    html = client.get(reverse("crm:deal.board"), {"pipeline": "junk"}).content.decode()
    assert "Sales deal" in html


@pytest.mark.parametrize("per_stage", [1, 10])
def test_board_query_count_does_not_grow_with_deals(
    per_stage: int,
    login: Any,
    sales_rep: User,
    pipeline: Pipeline,
    stages: dict[str, Stage],
    django_assert_max_num_queries: Any,
) -> None:
    for name in ("Qualification", "Proposal", "Negotiation"):
        for _ in range(per_stage):
            _deal(sales_rep, stages[name], 100)
    client = login(sales_rep)
    # session + user, pipelines, owners, team, stages, totals (+ watched ids),
    # cards (+ watched ids), which cards may move.
    with django_assert_max_num_queries(12):
        assert client.get(reverse("crm:deal.board")).status_code == 200


# --- moving a deal ------------------------------------------------------------------------


def _move(client: Any, deal: Deal, stage: Any, htmx: bool = True) -> Any:
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("crm:deal.move", args=[deal.pk]), {"stage": str(stage)}, **headers)


def test_moving_a_deal_changes_its_stage_audits_it_and_rerenders_the_board(
    login: Any, sales_rep: User, stages: dict[str, Stage]
) -> None:
    deal = _deal(sales_rep, stages["Qualification"], 700)
    response = _move(login(sales_rep), deal, stages["Proposal"].pk)
    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.stage == stages["Proposal"]
    html = response.content.decode()
    assert 'id="pipeline-board"' in html and 'hx-swap-oob="true"' in html
    assert "Moved" in html
    event = AuditEvent.objects.filter(
        table_name="crm_deal", record_id=str(deal.pk), action="update"
    ).latest("id")
    assert event.user_id == sales_rep.pk
    assert "stage_id" in event.changed_fields


def test_moving_to_the_won_stage_closes_the_deal(
    login: Any, sales_rep: User, stages: dict[str, Stage]
) -> None:
    deal = _deal(sales_rep, stages["Negotiation"], 700)
    assert _move(login(sales_rep), deal, stages["Closed won"].pk).status_code == 200
    deal.refresh_from_db()
    assert deal.status == Deal.Status.WON and deal.closed_at is not None


def test_moving_without_htmx_redirects_back_to_the_board(
    login: Any, sales_rep: User, stages: dict[str, Stage]
) -> None:
    deal = _deal(sales_rep, stages["Qualification"], 700)
    response = _move(login(sales_rep), deal, stages["Proposal"].pk, htmx=False)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("crm:deal.board"))


def test_a_read_only_deal_cannot_be_moved(
    login: Any, sales_rep: User, teammate: User, stages: dict[str, Stage]
) -> None:
    deal = _deal(teammate, stages["Qualification"], 700, shared_with_team=True)
    client = login(sales_rep)
    response = _move(client, deal, stages["Proposal"].pk)
    assert response.status_code == 403
    assert "read-only" in response.content.decode()
    assert _move(client, deal, stages["Proposal"].pk, htmx=False).status_code == 403
    deal.refresh_from_db()
    assert deal.stage == stages["Qualification"]


def test_an_invisible_deal_is_not_found(
    login: Any, sales_rep: User, outsider: User, stages: dict[str, Stage]
) -> None:
    deal = _deal(outsider, stages["Qualification"], 700)
    assert _move(login(sales_rep), deal, stages["Proposal"].pk).status_code == 404


def test_a_stage_of_another_pipeline_is_refused_with_a_message(
    login: Any, sales_rep: User, stages: dict[str, Stage]
) -> None:
    deal = _deal(sales_rep, stages["Qualification"], 700)
    foreign = StageFactory(pipeline=PipelineFactory(name="Other"), name="Elsewhere")
    response = _move(login(sales_rep), deal, foreign.pk)
    assert response.status_code == 400
    assert "another pipeline" in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage == stages["Qualification"]


def test_a_missing_or_malformed_stage_is_refused(
    login: Any, sales_rep: User, stages: dict[str, Stage]
) -> None:
    deal = _deal(sales_rep, stages["Qualification"], 700)
    assert _move(login(sales_rep), deal, "nope").status_code == 400


def test_move_needs_post_and_csrf(login: Any, sales_rep: User, stages: dict[str, Stage]) -> None:
    from django.test import Client

    deal = _deal(sales_rep, stages["Qualification"], 700)
    assert login(sales_rep).get(reverse("crm:deal.move", args=[deal.pk])).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(sales_rep)
    assert _move(strict, deal, stages["Proposal"].pk).status_code == 403
    deal.refresh_from_db()
    assert deal.stage == stages["Qualification"]
