"""Deals: moving through a pipeline's stages."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from crm import permissions
from crm.models import Deal, Stage


def deal_status_for_stage(stage: Stage) -> str:
    """The status a deal in `stage` has: won and lost stages close it, the others keep it open."""
    if stage.is_won:
        return Deal.Status.WON
    if stage.is_lost:
        return Deal.Status.LOST
    return Deal.Status.OPEN


@transaction.atomic
def deal_move_to_stage(*, user: User, deal: Deal, stage: Stage) -> Deal:
    """Put `deal` in `stage` of its pipeline, as `user` (board drag, bulk "change stage", edit).

    A won or lost stage closes the deal (status and `closed_at`); moving it back to an open
    stage reopens it. Raises PermissionDenied when `user` may not change the deal and
    ValidationError when the stage belongs to another pipeline. The audit triggers record the
    change with the request's user. Moving to the stage it is already in changes nothing.
    """
    if not permissions.can_edit(user, deal):
        raise PermissionDenied("You may not change this deal.")
    if stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage": "This stage belongs to another pipeline."})
    if deal.stage_id == stage.pk:
        return deal
    status = deal_status_for_stage(stage)
    deal.stage = stage
    if status != deal.status:
        deal.closed_at = None if status == Deal.Status.OPEN else timezone.now()
    deal.status = status
    deal.full_clean()
    deal.save(update_fields=["stage", "status", "closed_at", "updated_at"])
    return deal
