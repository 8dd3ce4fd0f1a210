"""Drag and drop on a project board in real Chromium: the move reaches the server and the
order is stored; the page raises no console or CSP errors (the `page` fixture checks)."""

from __future__ import annotations

import pytest

from crm import factories as f
from crm.models import Task
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _titles(section) -> list[str]:
    return list(
        Task.objects.filter(section=section).order_by("position").values_list("title", flat=True)
    )


def test_dragging_a_card_to_another_column_stores_the_new_order(page, sales_rep) -> None:
    board = f.BoardFactory(owner=sales_rep, title="Launch")
    todo = f.SectionFactory(board=board, title="To do", position=0)
    doing = f.SectionFactory(board=board, title="Doing", position=1)
    f.TaskFactory(owner=sales_rep, section=todo, position=0, title="Write copy")
    f.TaskFactory(owner=sales_rep, section=doing, position=0, title="Pick venue")
    f.TaskFactory(owner=sales_rep, section=doing, position=1, title="Book band")
    sign_in(page, sales_rep.email, "correct-horse-battery")
    page.goto(board.get_absolute_url())
    card = page.locator(".board-card-item", has_text="Write copy")
    target = page.locator(".board-card-item", has_text="Book band")
    # Dropped on the upper part of "Book band": the card goes just before it.
    with page.expect_response(lambda r: r.url.endswith("/move/") and r.status == 200):
        card.drag_to(target, target_position={"x": 20, "y": 4})
    page.locator(".board-column", has_text="Doing").locator("text=Write copy").wait_for()
    assert _titles(doing) == ["Pick venue", "Write copy", "Book band"]
    assert _titles(todo) == []
    assert "moved to Doing" in page.locator("#messages").inner_text()


def test_move_to_form_works_from_the_keyboard_without_dragging(page, sales_rep) -> None:
    board = f.BoardFactory(owner=sales_rep)
    todo = f.SectionFactory(board=board, title="To do", position=0)
    doing = f.SectionFactory(board=board, title="Doing", position=1)
    f.TaskFactory(owner=sales_rep, section=todo, position=0, title="First")
    f.TaskFactory(owner=sales_rep, section=todo, position=1, title="Second")
    sign_in(page, sales_rep.email, "correct-horse-battery")
    page.goto(board.get_absolute_url())
    card = page.locator(".board-card-item", has_text="Second")
    card.locator("summary").click()
    with page.expect_response(lambda r: r.url.endswith("/move/")):
        card.get_by_role("button", name="Move Second up").click()
    assert _titles(todo) == ["Second", "First"]
    card = page.locator(".board-card-item", has_text="First")
    card.locator("summary").click()
    card.get_by_label("Move to").select_option(label="Doing")
    with page.expect_response(lambda r: r.url.endswith("/move/")):
        card.get_by_role("button", name="Move", exact=True).click()
    assert _titles(doing) == ["First"]
