"""The pipeline board: deals as cards in stage columns, drag (or "Move to") to change stage."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from crm.forms.board import MoveDealForm
from crm.models import Deal
from crm.permissions import get_object_for_user_or_404
from crm.selectors.board import (
    board_pipelines,
    owner_choices,
    pick_owner,
    pick_pipeline,
    pipeline_board,
)
from crm.services.deals import deal_move_to_stage


def _board_context(request: HttpRequest, pipeline_id: str | None, owner: str | None) -> dict:
    """Everything the board templates need; URL values only through the allow-lists."""
    pipelines = list(board_pipelines())
    pipeline = pick_pipeline(pipelines, pipeline_id)
    owners = owner_choices(request.user)
    owner_value, owner_id = pick_owner(request.user, owners, owner)
    board = pipeline_board(
        user=request.user, pipeline=pipeline, owner=owner_value, owner_id=owner_id
    )
    return {"board": board, "pipelines": pipelines, "owners": owners}


def _board_url(pipeline_id: Any, owner: str) -> str:
    params = {"pipeline": pipeline_id, **({"owner": owner} if owner else {})}
    return f"{reverse('crm:deal.board')}?{urlencode(params)}"


@login_required
def board(request: HttpRequest) -> HttpResponse:
    context = _board_context(request, request.GET.get("pipeline"), request.GET.get("owner"))
    return render(request, "crm/deal_board.html", context)


def _answer(request: HttpRequest, deal: Deal, owner: str, status: int = 200) -> HttpResponse:
    """htmx: the re-rendered board (totals included) with the messages out of band, on an error
    status too (pipeline.js swaps those, which puts the card back). Without JS: back to the
    board."""
    if not request.htmx:
        return redirect(_board_url(deal.pipeline_id, owner))
    context = _board_context(request, str(deal.pipeline_id), owner)
    return render(request, "crm/partials/_board_pipeline_fragment.html", context, status=status)


@login_required
@require_POST
def move(request: HttpRequest, pk: Any) -> HttpResponse:
    form = MoveDealForm(request.POST)
    owner = str(request.POST.get("owner", ""))[:64]
    try:
        deal = get_object_for_user_or_404(request, Deal, pk, for_edit=True)
    except PermissionDenied:
        if not request.htmx:
            raise
        deal = get_object_for_user_or_404(request, Deal, pk)
        messages.error(request, f"You may not move “{deal.name}”: it is read-only for you.")
        return _answer(request, deal, owner, status=403)
    if not form.is_valid():
        messages.error(request, "Choose a stage to move the deal to.")
        return _answer(request, deal, owner, status=400)
    stage = form.cleaned_data["stage"]
    try:
        deal_move_to_stage(user=request.user, deal=deal, stage=stage)
    except ValidationError as error:
        messages.error(request, f"“{deal.name}” was not moved: {' '.join(error.messages)}")
        deal.refresh_from_db()
        return _answer(request, deal, owner, status=400)
    messages.success(request, f"Moved “{deal.name}” to {stage.name}.")
    return _answer(request, deal, owner)


urlpatterns = [
    path("deals/board/", board, name="deal.board"),
    path("deals/<uuid:pk>/move/", move, name="deal.move"),
]
