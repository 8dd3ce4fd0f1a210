"""Project boards: the list, a board's columns, moving cards and adding them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from crm import permissions
from crm.forms.quick import MoveForm, SectionTaskForm
from crm.models import Board
from crm.selectors.tasks import board_columns, board_list, can_edit_board
from crm.services.tasks import task_create_in_section, task_move

# A move without an index (the "Move to" select alone) puts the card last.
END = 1_000_000


def get_board_for_user(request: HttpRequest, pk: Any, **kwargs: Any) -> Board:
    """The board a view works on: 404 when invisible, 403 when `for_edit` and read-only."""
    return permissions.get_object_for_user_or_404(request, Board, pk, **kwargs)


def _board_context(request: HttpRequest, board: Board) -> dict[str, Any]:
    return {
        "board": board,
        "columns": board_columns(request.user, board),
        "can_edit": can_edit_board(request.user, board),
    }


def _columns_response(request: HttpRequest, board: Board) -> HttpResponse:
    """htmx: the board's columns again, messages out of band; otherwise back to the board
    (a refused move is a message, and the columns show the order as it is)."""
    if request.htmx:
        context = {**_board_context(request, board), "oob": True}
        return render(request, "crm/partials/_board_columns.html", context)
    return redirect("crm:board.detail", pk=board.pk)


@login_required
@require_GET
def board_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "crm/board_list.html", {"boards": board_list(request.user)})


@login_required
@require_GET
def board_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    board = get_board_for_user(request, pk)
    return render(request, "crm/board_detail.html", _board_context(request, board))


@login_required
@require_POST
def board_move(request: HttpRequest, pk: Any) -> HttpResponse:
    """Move a card (drag and drop, or the card's "Move to" form): task, section, index."""
    board = get_board_for_user(request, pk, for_edit=True)
    form = MoveForm(request.POST, board=board, user=request.user)
    if not form.is_valid():
        messages.error(request, "That card could not be moved: it is not on this board.")
        return _columns_response(request, board)
    task, section = form.cleaned_data["task"], form.cleaned_data["section"]
    index = form.cleaned_data["index"]
    try:
        task_move(
            user=request.user, task=task, section=section, index=END if index is None else index
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"“{task.title}” moved to {section.title}.")
    return _columns_response(request, board)


@login_required
@require_POST
def board_task_create(request: HttpRequest, pk: Any) -> HttpResponse:
    board = get_board_for_user(request, pk, for_edit=True)
    form = SectionTaskForm(request.POST, board=board)
    if form.is_valid():
        try:
            task = task_create_in_section(
                user=request.user,
                section=form.cleaned_data["section"],
                title=form.cleaned_data["title"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Card “{task.title}” added.")
    else:
        messages.error(request, "A card needs a title.")
    return _columns_response(request, board)


urlpatterns = [
    path("boards/", board_list_view, name="board.list"),
    path("boards/<uuid:pk>/", board_detail, name="board.detail"),
    path("boards/<uuid:pk>/move/", board_move, name="board.move"),
    path("boards/<uuid:pk>/cards/", board_task_create, name="board.task_create"),
]
