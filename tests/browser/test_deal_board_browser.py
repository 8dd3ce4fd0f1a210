"""The pipeline board in real Chromium: a dragged card lands in its new column with the totals
updated, and a refused move puts the card back with a message."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from crm.factories import DealFactory
from crm.models import Deal
from crm.services.pipelines import pipeline_ensure_default
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"


def _column(page, name: str):
    return page.locator(".pipeline-col", has=page.get_by_role("heading", name=name))


def test_dragging_a_card_moves_the_deal_and_updates_the_totals(page, sales_rep) -> None:
    pipeline = pipeline_ensure_default()
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    deal = DealFactory(
        name="Drag me",
        owner=sales_rep,
        pipeline=pipeline,
        stage=stages["Qualification"],
        amount=Decimal("1500"),
        currency="USD",
    )
    sign_in(page, sales_rep.email, PASSWORD)
    page.goto("/deals/board/")
    card = page.locator(".pipeline-card", has_text="Drag me")
    with page.expect_response(lambda r: "/move/" in r.url and r.request.method == "POST"):
        card.drag_to(_column(page, "Proposal").locator(".pipeline-cards"))
    expect(_column(page, "Proposal").locator(".pipeline-card", has_text="Drag me")).to_be_visible()
    expect(_column(page, "Proposal").locator("[data-total]")).to_contain_text("1,500.00 USD")
    expect(_column(page, "Qualification").locator("[data-count]")).to_have_text("0")
    expect(page.locator("#messages")).to_contain_text("Moved")
    deal.refresh_from_db()
    assert deal.stage == stages["Proposal"]


def test_a_refused_move_snaps_the_card_back_with_a_message(
    page,
    sales_rep,
    teammate,
) -> None:
    pipeline = pipeline_ensure_default()
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    deal = DealFactory(
        name="Taken away", owner=sales_rep, pipeline=pipeline, stage=stages["Qualification"]
    )
    sign_in(page, sales_rep.email, PASSWORD)
    page.goto("/deals/board/")
    # The deal changes hands after the board was drawn: still visible (shared), now read-only.
    Deal.objects.filter(pk=deal.pk).update(owner=teammate, shared_with_team=True)
    card = page.locator(".pipeline-card", has_text="Taken away")
    with page.expect_response(lambda r: "/move/" in r.url) as response:
        card.drag_to(_column(page, "Proposal").locator(".pipeline-cards"))
    assert response.value.status == 403
    qualification = _column(page, "Qualification")
    expect(qualification.locator(".pipeline-card", has_text="Taken away")).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("read-only")
    deal.refresh_from_db()
    assert deal.stage == stages["Qualification"]
    # Chromium logs every 4xx response; this one is the refusal under test.
    assert all("403" in error for error in page.console_errors), page.console_errors
    page.console_errors.clear()
