"""Notes: the free-text entries on a company, contact, lead or deal timeline."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.models import User
from crm import permissions
from crm.models import Company, Contact, Deal, Lead, Note

NoteParent = Company | Contact | Lead | Deal


def parent_field(parent: NoteParent) -> str:
    """The foreign key of Note (and Task) that points at this kind of record."""
    return parent._meta.model_name


@transaction.atomic
def note_create(*, user: User, parent: NoteParent, body: str) -> Note:
    """Add a note written by `user` to `parent` (a company, contact, lead or deal).

    Adding a note changes the record (docs/permissions.md), so `user` needs change permission
    on `parent`: PermissionDenied otherwise. An empty or blank body is a ValidationError on
    `body` (full_clean), which forms show as a field error. Surrounding whitespace is dropped.
    """
    if not permissions.can_edit(user, parent):
        raise PermissionDenied("You may not add notes to this record.")
    note = Note(author=user, body=(body or "").strip(), **{parent_field(parent): parent})
    note.full_clean()
    note.save()
    return note
