"""Linking existing records to each other: a deal's contacts, a document's records.

A link changes both sides, so both are checked (docs/permissions.md): the user must be able
to change the deal or the document, and to see the contact; a document's record must be
changeable too, because attaching a document to a record is a change to that record (the rule
`document_create(links=...)` applies). Every function is idempotent: adding a link that exists,
or removing one that does not, writes nothing. The audit triggers record each link-table row
written or deleted, with the acting user.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction

from accounts.models import User
from crm import permissions
from crm.models import Company, Contact, Contract, Deal, Document, Lead, Task

# The records a document links to from its page: model -> Document many-to-many field.
# Invoices have no page to link from.
DOCUMENT_LINK_FIELDS: dict[type[models.Model], str] = {
    Company: "companies",
    Contact: "contacts",
    Lead: "leads",
    Deal: "deals",
    Contract: "contracts",
    Task: "tasks",
}


def _locked(model: type[models.Model], pk: object) -> models.Model:
    # Lock the row the link hangs off, so two concurrent edits of its links serialise.
    return model._default_manager.select_for_update().get(pk=pk)


def _check_deal(user: User, deal: Deal, contact: Contact) -> Deal:
    current = _locked(Deal, deal.pk)
    if not permissions.can_edit(user, current):
        raise PermissionDenied("You may not change this deal.")
    if not permissions.can_view(user, contact):
        raise PermissionDenied("You may not see this contact.")
    return current


@transaction.atomic
def deal_add_contact(*, user: User, deal: Deal, contact: Contact) -> bool:
    """Add `contact` to the contacts of `deal`. A contact already on the deal (linked, or its
    primary contact) is left as it is. Returns whether anything was written."""
    current = _check_deal(user, deal, contact)
    if current.primary_contact_id == contact.pk or current.contacts.filter(pk=contact.pk).exists():
        return False
    current.contacts.add(contact)
    return True


@transaction.atomic
def deal_remove_contact(*, user: User, deal: Deal, contact: Contact) -> bool:
    """Take `contact` off `deal`: the link goes, and if it is the deal's primary contact the
    deal is left without one (the Contacts panel lists both, so "Remove" means off the deal
    entirely; a deal whose primary contact is not among its contacts would be a surprise).
    Returns whether anything was written."""
    current = _check_deal(user, deal, contact)
    changed = False
    if current.contacts.filter(pk=contact.pk).exists():
        current.contacts.remove(contact)
        changed = True
    if current.primary_contact_id == contact.pk:
        current.primary_contact = None
        current.full_clean()
        current.save(update_fields=["primary_contact", "updated_at"])
        changed = True
    deal.primary_contact_id = current.primary_contact_id
    return changed


def _document_field(user: User, document: Document, record: models.Model) -> tuple[Document, str]:
    field = DOCUMENT_LINK_FIELDS.get(type(record))
    if field is None:
        raise ValidationError(f"A document cannot be linked to a {record._meta.verbose_name}.")
    current = _locked(Document, document.pk)
    if not permissions.can_edit(user, current):
        raise PermissionDenied("You may not change this document.")
    if not permissions.can_edit(user, record):
        # Attaching a document to a record, or taking it off, changes the record.
        raise PermissionDenied(f"You may not change this {record._meta.verbose_name}.")
    return current, field


@transaction.atomic
def document_link(*, user: User, document: Document, record: models.Model) -> bool:
    """Link `document` to `record` (a company, contact, lead, deal, contract or task); an
    existing link is left as it is. Returns whether anything was written."""
    current, field = _document_field(user, document, record)
    links = getattr(current, field)
    if links.filter(pk=record.pk).exists():
        return False
    links.add(record)
    return True


@transaction.atomic
def document_unlink(*, user: User, document: Document, record: models.Model) -> bool:
    """Remove the link between `document` and `record`; no link, nothing written. Returns
    whether anything was written."""
    current, field = _document_field(user, document, record)
    links = getattr(current, field)
    if not links.filter(pk=record.pk).exists():
        return False
    links.remove(record)
    return True
