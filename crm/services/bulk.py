"""Bulk actions on the rows selected on a list page: assign owner, change status or stage,
add a tag, delete.

Every selected id is checked through crm.permissions in one query (`editable_by` /
`deletable_by` filtered by the ids), so an id the user may not change, or may not even see,
is skipped and counted, never touched. Simple column changes are one UPDATE over the allowed
rows (the database constraints guard the columns, the touch trigger keeps updated_at and the
audit triggers log the statement); changes with rules of their own (a task's status, a deal's
stage) go row by row through their services.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import F, Func, Model, Value
from django.db.models.expressions import RawSQL

from accounts.models import User
from crm import permissions
from crm.models import Deal, Document, Lead, Stage, Task
from crm.services.deals import deal_move_to_stage
from crm.services.documents import delete_stored_file_on_commit
from crm.services.tasks import task_set_status

TAG_MAX = 60


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action did: rows changed, rows refused by the permission check, and rows
    the user may change but the action does not apply to (a deal in another pipeline)."""

    changed: int
    forbidden: int
    not_applicable: int = 0
    reason: str = ""
    invalid: int = 0  # rows whose own validation refused the change (fix them on their page)

    def message(self, verb: str, model: type[Model]) -> str:
        meta = model._meta
        noun = meta.verbose_name if self.changed == 1 else meta.verbose_name_plural
        text = f"{verb} {self.changed} {noun}"
        if self.forbidden:
            text += f"; {self.forbidden} skipped: you may not change them"
        if self.not_applicable:
            text += f"; {self.not_applicable} skipped: {self.reason}"
        if self.invalid:
            text += f"; {self.invalid} skipped: they have invalid values, fix them on their page"
        return f"{text}."


def _allowed(qs: models.QuerySet, ids: Iterable[UUID]) -> list[Any]:
    return list(qs.filter(pk__in=list(ids)).values_list("pk", flat=True))


@transaction.atomic
def records_bulk_assign_owner(
    *, user: User, model: type[Model], ids: list[UUID], owner: User
) -> BulkResult:
    """Make `owner` the owner of the selected rows `user` may reassign to them.

    Each row must be changeable by `user` (`editable_by`) and reassignable to `owner`
    (`can_reassign`: managers within their team, admins anywhere; sales reps never).
    """
    rows = list(permissions.editable_by(user, model).filter(pk__in=ids).only("pk", "owner_id"))
    allowed = [row.pk for row in rows if permissions.can_reassign(user, row, to=owner)]
    if allowed:
        model._default_manager.filter(pk__in=allowed).exclude(owner=owner).update(owner=owner)
    return BulkResult(changed=len(allowed), forbidden=len(ids) - len(allowed))


@transaction.atomic
def records_bulk_set_status(
    *, user: User, model: type[Model], ids: list[UUID], status: str
) -> BulkResult:
    """Set the status of the selected rows `user` may change.

    Tasks go through `task_set_status` (it keeps `completed_at` true); other models take the
    status directly. Leads are never converted or unconverted here: conversion is its own
    action, and a converted lead keeps its status (skipped as not applicable).
    """
    valid = {value for value, _ in model._meta.get_field("status").choices}
    if status not in valid or (model is Lead and status == Lead.Status.CONVERTED):
        raise ValidationError({"status": "Not a status this list can set."})
    editable = permissions.editable_by(user, model).filter(pk__in=ids)
    if model is Task:
        tasks = list(editable)
        invalid = 0
        for task in tasks:
            try:
                task_set_status(user=user, task=task, status=status)
            except ValidationError:  # raised by full_clean() before any write
                invalid += 1
        return BulkResult(
            changed=len(tasks) - invalid, forbidden=len(ids) - len(tasks), invalid=invalid
        )
    allowed = _allowed(editable, ids)
    rows = model._default_manager.filter(pk__in=allowed)
    skipped = 0
    if model is Lead:
        skipped = rows.filter(status=Lead.Status.CONVERTED).count()
        rows = rows.exclude(status=Lead.Status.CONVERTED)
    rows.exclude(status=status).update(status=status)
    return BulkResult(
        changed=len(allowed) - skipped,
        forbidden=len(ids) - len(allowed),
        not_applicable=skipped,
        reason="converted leads keep their status",
    )


@transaction.atomic
def deals_bulk_move_to_stage(*, user: User, ids: list[UUID], stage: Stage) -> BulkResult:
    """Move the selected deals `user` may change to `stage`, each through
    `deal_move_to_stage` (a won or lost stage closes the deal). Deals of another pipeline
    than the stage's are skipped as not applicable."""
    deals = list(permissions.editable_by(user, Deal).filter(pk__in=ids))
    moved = other_pipeline = invalid = 0
    for deal in deals:
        if deal.pipeline_id != stage.pipeline_id:
            other_pipeline += 1
            continue
        try:
            deal_move_to_stage(user=user, deal=deal, stage=stage)
        except ValidationError:  # raised by full_clean() before any write
            invalid += 1
            continue
        moved += 1
    return BulkResult(
        changed=moved,
        forbidden=len(ids) - len(deals),
        not_applicable=other_pipeline,
        reason="that stage is in another pipeline",
        invalid=invalid,
    )


def clean_tag(tag: str) -> str:
    tag = " ".join(tag.split())
    if "\x00" in tag:
        raise ValidationError({"tag": "Tags cannot contain null characters."})
    if not tag or len(tag) > TAG_MAX:
        raise ValidationError({"tag": f"A tag is 1 to {TAG_MAX} characters."})
    return tag


@transaction.atomic
def records_bulk_add_tag(
    *, user: User, model: type[Model], ids: list[UUID], tag: str
) -> BulkResult:
    """Add `tag` to the selected rows `user` may change: one UPDATE ... SET tags =
    array_append(tags, tag). A row that has the tag already, in any letter case (the forms
    treat "VIP" and "vip" as one tag), keeps it as it is and is counted as skipped."""
    tag = clean_tag(tag)
    allowed = _allowed(permissions.editable_by(user, model), ids)
    tag_array = ArrayField(models.CharField(max_length=TAG_MAX))
    appended = Func(F("tags"), Value(tag), function="array_append", output_field=tag_array)
    # The tag is a parameter; "tags" is the row's own column.
    has_tag = RawSQL(
        "EXISTS (SELECT 1 FROM unnest(tags) AS t WHERE lower(t) = lower(%s))",
        [tag],
        output_field=models.BooleanField(),
    )
    changed = (
        model._default_manager.filter(pk__in=allowed)
        .alias(has_tag=has_tag)
        .filter(has_tag=False)
        .update(tags=appended)
    )
    return BulkResult(
        changed=changed,
        forbidden=len(ids) - len(allowed),
        not_applicable=len(allowed) - changed,
        reason="they have that tag already",
    )


@transaction.atomic
def records_bulk_delete(*, user: User, model: type[Model], ids: list[UUID]) -> BulkResult:
    """Delete the selected rows `user` may delete (`deletable_by`), with what cascades from
    them as on the detail page's delete (a company's notes and tasks)."""
    allowed = _allowed(permissions.deletable_by(user, model), ids)
    if allowed:
        rows = model._default_manager.filter(pk__in=allowed)
        # Documents take their stored files with them, as document_delete does, once the
        # deletion commits (a queryset delete() never touches storage).
        files = (
            list(rows.exclude(file="").values_list("file", flat=True)) if model is Document else []
        )
        try:
            rows.delete()
        except models.ProtectedError:
            raise ValidationError("Some of these records are still in use.") from None
        for name in files:
            delete_stored_file_on_commit(name)
    return BulkResult(changed=len(allowed), forbidden=len(ids) - len(allowed))


def bulk_action_run(
    *, user: User, model: type[Model], action: str, ids: list[UUID], value: Any = None
) -> tuple[str, BulkResult]:
    """Run one of the list page's bulk actions by name; returns the verb for the message
    and the result. PermissionDenied and ValidationError propagate to the view."""
    common = {"user": user, "ids": ids}
    if action == "assign_owner":
        return "Reassigned", records_bulk_assign_owner(model=model, owner=value, **common)
    if action == "set_status":
        return "Updated", records_bulk_set_status(model=model, status=value, **common)
    if action == "set_stage" and model is Deal:
        return "Moved", deals_bulk_move_to_stage(stage=value, **common)
    if action == "add_tag":
        return "Tagged", records_bulk_add_tag(model=model, tag=value, **common)
    if action == "delete":
        return "Deleted", records_bulk_delete(model=model, **common)
    raise PermissionDenied("No such bulk action.")
