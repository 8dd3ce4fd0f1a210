"""Project boards: visible boards, columns with cards in order, and moving cards (service,
endpoint and the no-JS "Move to" form), only for people who may change the board."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from crm import factories as f
from crm.models import Board, Task
from crm.services.tasks import task_move

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(sales_rep) -> Board:
    board = f.BoardFactory(owner=sales_rep, title="Launch plan")
    todo = f.SectionFactory(board=board, title="To do", position=0)
    doing = f.SectionFactory(board=board, title="Doing", position=1)
    for i in range(3):
        f.TaskFactory(owner=sales_rep, section=todo, position=i, title=f"todo {i}")
        f.TaskFactory(owner=sales_rep, section=doing, position=i, title=f"doing {i}")
    return board


def _cards(section) -> list[tuple[str, int]]:
    return list(
        Task.objects.filter(section=section).order_by("position").values_list("title", "position")
    )


def _sections(board):
    return list(board.sections.order_by("position"))


def test_move_within_a_section_renumbers_without_gaps(board, sales_rep) -> None:
    todo, _ = _sections(board)
    task_move(user=sales_rep, task=Task.objects.get(title="todo 0"), section=todo, index=2)
    assert _cards(todo) == [("todo 1", 0), ("todo 2", 1), ("todo 0", 2)]


def test_move_across_sections_renumbers_target_and_source(board, sales_rep) -> None:
    todo, doing = _sections(board)
    task_move(user=sales_rep, task=Task.objects.get(title="todo 1"), section=doing, index=1)
    assert _cards(doing) == [("doing 0", 0), ("todo 1", 1), ("doing 1", 2), ("doing 2", 3)]
    assert _cards(todo) == [("todo 0", 0), ("todo 2", 1)]


def test_move_clamps_an_index_past_the_end(board, sales_rep) -> None:
    _, doing = _sections(board)
    task_move(user=sales_rep, task=Task.objects.get(title="todo 0"), section=doing, index=99)
    assert _cards(doing)[-1] == ("todo 0", 3)


def test_move_refuses_a_section_of_another_board(board, sales_rep) -> None:
    other = f.SectionFactory(board=f.BoardFactory(owner=sales_rep))
    task = Task.objects.get(title="todo 0")
    with pytest.raises(ValidationError):
        task_move(user=sales_rep, task=task, section=other, index=0)
    task.refresh_from_db()
    assert task.section.board_id == board.pk


def test_move_refuses_a_user_who_may_not_change_the_board(board, teammate) -> None:
    Board.objects.filter(pk=board.pk).update(visibility=Board.Visibility.TEAM)
    todo, doing = _sections(board)
    with pytest.raises(PermissionDenied):
        task_move(user=teammate, task=Task.objects.get(title="todo 0"), section=doing, index=0)
    assert _cards(todo)[0] == ("todo 0", 0)


def test_collaborator_may_move_cards(board, outsider) -> None:
    board.shared_with.add(outsider)
    _, doing = _sections(board)
    task_move(user=outsider, task=Task.objects.get(title="todo 0"), section=doing, index=0)
    assert _cards(doing)[0] == ("todo 0", 0)


def test_board_list_shows_only_visible_boards(board, sales_rep, outsider, login) -> None:
    f.BoardFactory(owner=outsider, title="Their secret board")
    f.BoardFactory(owner=outsider, title="Open roadmap", visibility=Board.Visibility.PUBLIC)
    html = login(sales_rep).get(reverse("crm:board.list")).content.decode()
    assert "Launch plan" in html and "Open roadmap" in html
    assert "Their secret board" not in html
    assert "6 cards" in html


def test_board_page_shows_columns_with_cards_in_position_order(board, sales_rep, login) -> None:
    Task.objects.filter(title="todo 0").update(position=5)
    html = login(sales_rep).get(board.get_absolute_url()).content.decode()
    assert html.index("todo 1") < html.index("todo 2") < html.index("todo 0")
    assert html.index("To do") < html.index("Doing")
    assert 'draggable="true"' in html and "js/boards.js" in html
    assert reverse("crm:board.move", args=[board.pk]) in html


def test_read_only_viewer_sees_no_move_controls_and_gets_403(board, teammate, login) -> None:
    Board.objects.filter(pk=board.pk).update(visibility=Board.Visibility.TEAM)
    client = login(teammate)
    html = client.get(board.get_absolute_url()).content.decode()
    assert "todo 0" in html
    assert 'draggable="true"' not in html and "Move to" not in html and "Add a card" not in html
    _, doing = _sections(board)
    task = Task.objects.get(title="todo 0")
    move = reverse("crm:board.move", args=[board.pk])
    response = client.post(move, {"task": task.pk, "section": doing.pk, "index": 0})
    assert response.status_code == 403


def test_outsider_gets_404_on_a_private_board(board, outsider, login) -> None:
    client = login(outsider)
    assert client.get(board.get_absolute_url()).status_code == 404
    assert client.post(reverse("crm:board.move", args=[board.pk])).status_code == 404


def test_htmx_move_returns_the_columns_in_the_new_order(board, sales_rep, login) -> None:
    _, doing = _sections(board)
    task = Task.objects.get(title="todo 2")
    response = login(sales_rep).post(
        reverse("crm:board.move", args=[board.pk]),
        {"task": task.pk, "section": doing.pk, "index": 0},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'id="board-columns"' in html and "<html" not in html
    assert "moved to Doing" in html
    assert _cards(doing)[0] == ("todo 2", 0)


def test_move_form_without_index_puts_the_card_last_and_redirects(board, sales_rep, login) -> None:
    _, doing = _sections(board)
    task = Task.objects.get(title="todo 0")
    response = login(sales_rep).post(
        reverse("crm:board.move", args=[board.pk]), {"task": task.pk, "section": doing.pk}
    )
    assert response.status_code == 302 and response["Location"] == board.get_absolute_url()
    assert _cards(doing)[-1] == ("todo 0", 3)


def test_move_endpoint_refuses_a_section_or_card_of_another_board(board, sales_rep, login) -> None:
    other_board = f.BoardFactory(owner=sales_rep)
    other_section = f.SectionFactory(board=other_board)
    other_card = f.TaskFactory(owner=sales_rep, section=other_section)
    todo, _ = _sections(board)
    move = reverse("crm:board.move", args=[board.pk])
    client = login(sales_rep)
    task = Task.objects.get(title="todo 0")
    response = client.post(move, {"task": task.pk, "section": other_section.pk, "index": 0})
    assert response.status_code == 302
    response = client.post(move, {"task": other_card.pk, "section": todo.pk, "index": 0})
    assert response.status_code == 302
    task.refresh_from_db()
    other_card.refresh_from_db()
    assert task.section_id == todo.pk and other_card.section_id == other_section.pk


def test_quick_add_puts_a_card_at_the_end_of_its_section(board, sales_rep, login) -> None:
    todo, _ = _sections(board)
    response = login(sales_rep).post(
        reverse("crm:board.task_create", args=[board.pk]),
        {"section": todo.pk, "title": "New idea"},
        HTTP_HX_REQUEST="true",
    )
    assert "New idea" in response.content.decode()
    assert _cards(todo)[-1] == ("New idea", 3)
    assert Task.objects.get(title="New idea").owner == sales_rep


@pytest.mark.parametrize("n", [3, 30])
def test_board_page_stays_within_its_query_budget(
    n, sales_rep, login, django_assert_max_num_queries
) -> None:
    board = f.BoardFactory(owner=sales_rep)
    for section in f.SectionFactory.create_batch(3, board=board):
        for i in range(n):
            f.TaskFactory(owner=sales_rep, section=section, position=i)
    client = login(sales_rep)
    # Board, sections, cards, and the visibility layer's lookups: none per card.
    with django_assert_max_num_queries(18):
        assert client.get(board.get_absolute_url()).status_code == 200
