"""Create, update and delete of the records that have pages: `<entity>_create`,
`<entity>_update`, `<entity>_delete` for companies, contacts, leads, deals, contracts, tasks and
documents.

Every function takes keyword-only arguments, runs in one transaction, re-checks what the forms
already limit (crm.permissions is the authority, a form only a convenience) and calls
`full_clean()` before saving. `data` maps model field names to values (what
`RecordForm.record_data()` returns; `custom_fields` holds the whole, already validated,
custom field object). An update works on the row as stored, locked for the transaction, never
on the caller's instance, which a bound form has already changed in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.utils import timezone

from accounts.models import User
from crm import permissions
from crm.models import (
    Company,
    Contact,
    Contract,
    CustomizableRecord,
    Deal,
    Document,
    Invoice,
    Lead,
    Stage,
    Task,
)
from crm.services.deals import deal_move_to_stage, deal_status_for_stage
from crm.services.documents import delete_stored_file_on_commit, inspect_upload
from crm.services.tasks import task_set_status

R = TypeVar("R", bound=CustomizableRecord)
Prepare = Callable[[Any, dict[str, Any]], None]

# Foreign keys to these are links to records with visibility rules: the user must see them.
RECORD_MODELS = (Company, Contact, Lead, Deal, Contract, Task, Document, Invoice)
# ...and must be allowed to change them, where the link is a change to the other record.
EDIT_LINKS: dict[type[models.Model], set[str]] = {Task: {"company", "contact", "lead", "deal"}}


def _split(model: type[R], data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    m2m_names = {f.name for f in model._meta.many_to_many}
    fields = {k: v for k, v in data.items() if k not in m2m_names}
    return fields, {k: v for k, v in data.items() if k in m2m_names}


def _check_links(user: User, model: type[R], current: R | None, fields: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    for name, value in fields.items():
        field = model._meta.get_field(name)
        if not (field.many_to_one and field.related_model in RECORD_MODELS) or value is None:
            continue
        if current is not None and getattr(current, field.attname) == value.pk:
            continue  # an existing link is kept as it is
        needs_edit = name in EDIT_LINKS.get(model, set())
        allowed = (
            permissions.can_edit(user, value) if needs_edit else permissions.can_view(user, value)
        )
        if not allowed:
            errors[name] = "Choose a record you may " + ("change." if needs_edit else "see.")
    if errors:
        raise ValidationError(errors)


def _save(record: R, fields: Mapping[str, Any], m2m: Mapping[str, Iterable[Any]]) -> R:
    for name, value in fields.items():
        setattr(record, name, value)
    record.full_clean()
    record.save()
    for name, values in m2m.items():
        getattr(record, name).set(values)
    return record


def _create(
    model: type[R],
    *,
    user: User,
    data: Mapping[str, Any],
    links: Mapping[str, Iterable[Any]] | None = None,
) -> R:
    fields, m2m = _split(model, data)
    owner = fields.pop("owner", None) or user
    if owner.pk != user.pk and not permissions.reassign_targets(user).filter(pk=owner.pk).exists():
        # Sales reps' records are theirs; managers and admins pick among reassign_targets.
        raise PermissionDenied("You may not make this user the owner.")
    _check_links(user, model, None, fields)
    links = {name: list(records) for name, records in (links or {}).items()}
    for records in links.values():
        if any(not permissions.can_edit(user, record) for record in records):
            raise PermissionDenied("Linking to a record is a change to it.")
    record = _save(model(owner=owner), fields, m2m)
    for name, records in links.items():
        getattr(record, name).add(*records)
    return record


def _update(
    model: type[R],
    *,
    user: User,
    record: R,
    data: Mapping[str, Any],
    prepare: Prepare | None = None,
) -> R:
    current = model._default_manager.select_for_update().get(pk=record.pk)
    if not permissions.can_edit(user, current):
        raise PermissionDenied(f"You may not change this {model._meta.verbose_name}.")
    fields, m2m = _split(model, data)
    if "owner" in fields:
        owner = fields["owner"]
        if (owner.pk if owner else None) != current.owner_id and (
            owner is None or not permissions.can_reassign(user, current, to=owner)
        ):
            raise PermissionDenied("You may not give this record to that user.")
    _check_links(user, model, current, fields)
    if prepare is not None:
        prepare(current, fields)
    return _save(current, fields, m2m)


def _delete(model: type[R], *, user: User, record: R) -> None:
    current = model._default_manager.select_for_update().get(pk=record.pk)
    if not permissions.can_delete(user, current):
        raise PermissionDenied(f"You may not delete this {model._meta.verbose_name}.")
    current.delete()


# --- companies, contacts, leads, contracts: the rules above and nothing more -----------------


@transaction.atomic
def company_create(*, user: User, data: Mapping[str, Any]) -> Company:
    """Create a company owned by `user` (or, for managers and admins, by the owner chosen)."""
    return _create(Company, user=user, data=data)


@transaction.atomic
def company_update(*, user: User, company: Company, data: Mapping[str, Any]) -> Company:
    """Change a company's fields as `user`; PermissionDenied without edit rights, and for an
    owner change `user` may not make."""
    return _update(Company, user=user, record=company, data=data)


@transaction.atomic
def company_delete(*, user: User, company: Company) -> None:
    """Delete a company as `user` (its tasks and notes go with it; contacts, leads and deals
    stay, without the company)."""
    _delete(Company, user=user, record=company)


@transaction.atomic
def contact_create(*, user: User, data: Mapping[str, Any]) -> Contact:
    """Create a contact, at a company `user` may see."""
    return _create(Contact, user=user, data=data)


@transaction.atomic
def contact_update(*, user: User, contact: Contact, data: Mapping[str, Any]) -> Contact:
    """Change a contact's fields as `user`."""
    return _update(Contact, user=user, record=contact, data=data)


@transaction.atomic
def contact_delete(*, user: User, contact: Contact) -> None:
    """Delete a contact as `user` (its tasks and notes go with it)."""
    _delete(Contact, user=user, record=contact)


@transaction.atomic
def lead_create(*, user: User, data: Mapping[str, Any]) -> Lead:
    """Create a lead owned by `user` (or the owner a manager or admin chose)."""
    return _create(Lead, user=user, data=data)


@transaction.atomic
def lead_update(*, user: User, lead: Lead, data: Mapping[str, Any]) -> Lead:
    """Change a lead's fields as `user` (conversion is lead_convert's, not this)."""
    return _update(Lead, user=user, record=lead, data=data)


@transaction.atomic
def lead_delete(*, user: User, lead: Lead) -> None:
    """Delete a lead as `user`."""
    _delete(Lead, user=user, record=lead)


@transaction.atomic
def contract_create(*, user: User, data: Mapping[str, Any]) -> Contract:
    """Create a contract, for a company and deal `user` may see."""
    return _create(Contract, user=user, data=data)


@transaction.atomic
def contract_update(*, user: User, contract: Contract, data: Mapping[str, Any]) -> Contract:
    """Change a contract's fields as `user`."""
    return _update(Contract, user=user, record=contract, data=data)


@transaction.atomic
def contract_delete(*, user: User, contract: Contract) -> None:
    """Delete a contract as `user`."""
    _delete(Contract, user=user, record=contract)


# --- deals: the stage decides the status ----------------------------------------------------


def _closing(stage: Stage, status: str) -> dict[str, Any]:
    # deal_move_to_stage's rule, for the two writes it cannot make: a new deal, and a move to
    # another pipeline (the stage and pipeline change together, composite foreign key).
    new_status = deal_status_for_stage(stage)
    if new_status == status:
        return {"status": new_status}
    closed_at = None if new_status == Deal.Status.OPEN else timezone.now()
    return {"status": new_status, "closed_at": closed_at}


@transaction.atomic
def deal_create(*, user: User, data: Mapping[str, Any]) -> Deal:
    """Create a deal; a won or lost stage creates it closed (status and `closed_at`)."""
    data = dict(data)
    if data.get("stage") is not None:
        data.update(_closing(data["stage"], Deal.Status.OPEN))
    return _create(Deal, user=user, data=data)


@transaction.atomic
def deal_update(*, user: User, deal: Deal, data: Mapping[str, Any]) -> Deal:
    """Change a deal's fields as `user`. A stage change within the pipeline goes through
    deal_move_to_stage (a won or lost stage closes the deal, an open one reopens it)."""
    moves: list[Stage] = []

    def prepare(current: Deal, fields: dict[str, Any]) -> None:
        stage = fields.pop("stage", None)
        if stage is None or stage.pk == current.stage_id:
            return
        pipeline = fields.get("pipeline")
        if pipeline is not None and pipeline.pk != current.pipeline_id:
            fields["stage"] = stage
            fields.update(_closing(stage, current.status))
        else:
            moves.append(stage)

    updated = _update(Deal, user=user, record=deal, data=data, prepare=prepare)
    for stage in moves:
        updated = deal_move_to_stage(user=user, deal=updated, stage=stage)
    return updated


@transaction.atomic
def deal_delete(*, user: User, deal: Deal) -> None:
    """Delete a deal as `user` (its tasks and notes go with it)."""
    _delete(Deal, user=user, record=deal)


# --- tasks: the status decides completed_at -------------------------------------------------


@transaction.atomic
def task_create(*, user: User, data: Mapping[str, Any]) -> Task:
    """Create a task, about a record `user` may change (adding a task changes the record);
    created done, it is stamped completed through task_set_status."""
    data = dict(data)
    status = data.pop("status", Task.Status.OPEN)
    task = _create(Task, user=user, data=data)
    return task_set_status(user=user, task=task, status=status)


@transaction.atomic
def task_update(*, user: User, task: Task, data: Mapping[str, Any]) -> Task:
    """Change a task's fields as `user`; a status change goes through task_set_status
    (completed_at follows)."""
    data = dict(data)
    status = data.pop("status", None)
    task = _update(Task, user=user, record=task, data=data)
    if status is not None:
        task = task_set_status(user=user, task=task, status=status)
    return task


@transaction.atomic
def task_delete(*, user: User, task: Task) -> None:
    """Delete a task as `user` (an assignee may change a task, not delete it)."""
    _delete(Task, user=user, record=task)


# --- documents: a checked file, or an external link -----------------------------------------


def _take_upload(fields: dict[str, Any]) -> bool:
    upload = fields.get("file")
    if not isinstance(upload, UploadedFile):
        return False
    # The form checked already; this is the rule for every other caller.
    fields["mime_type"], fields["size"] = inspect_upload(upload)
    return True


@transaction.atomic
def document_create(
    *,
    user: User,
    data: Mapping[str, Any],
    links: Mapping[str, Iterable[Any]] | None = None,
) -> Document:
    """Create a document from an upload (size and sniffed type checked, stored under
    MEDIA_ROOT) or an external URL, linked to `links` (m2m name -> records, each of which
    `user` must be allowed to change)."""
    data = dict(data)
    _take_upload(data)
    return _create(Document, user=user, data=data, links=links)


@transaction.atomic
def document_update(*, user: User, document: Document, data: Mapping[str, Any]) -> Document:
    """Change a document as `user`; a new upload replaces the stored file, which is removed
    once the change commits."""
    replaced: list[str] = []

    def prepare(current: Document, fields: dict[str, Any]) -> None:
        if _take_upload(fields) and current.file:
            replaced.append(current.file.name)

    updated = _update(Document, user=user, record=document, data=data, prepare=prepare)
    for name in replaced:
        delete_stored_file_on_commit(name)
    return updated


@transaction.atomic
def document_delete(*, user: User, document: Document) -> None:
    """Delete a document as `user`, and its stored file once that commits."""
    name = document.file.name if document.file else ""
    _delete(Document, user=user, record=document)
    delete_stored_file_on_commit(name)
