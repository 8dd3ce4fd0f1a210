"""Create / edit forms of the work around the records: tasks and documents."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from accounts.models import User
from crm import permissions
from crm.forms.records import RecordForm, RecordMeta, TagsField, fields_of, with_current
from crm.models import Document, DocumentType, Task
from crm.services.documents import ACCEPTED_LABEL, inspect_upload

OWNERSHIP = ("Ownership", ["owner", "shared_with_team"])
TASK_PARENTS = ("company", "contact", "lead", "deal")

TASK_FIELDSETS = [
    ("Task", ["title", "status", "priority", "due_at", "assignee", "body"]),
    ("About", list(TASK_PARENTS)),
    ("Details", ["tags"]),
    OWNERSHIP,
]

DOCUMENT_FIELDSETS = [
    ("Document", ["name", "file", "url", "kind", "document_type"]),
    ("Details", ["description", "tags"]),
    OWNERSHIP,
]


def assignable_users(user: User) -> Any:
    """Who a task may be given to: any active user for an admin, the active members of one's
    team otherwise (just oneself without a team)."""
    return permissions.team_users(user)


class TaskForm(RecordForm):
    tags = TagsField()
    fieldsets = TASK_FIELDSETS
    # Adding a task to a record is a change to that record (docs/permissions.md).
    linked = dict.fromkeys(TASK_PARENTS, "edit")

    class Meta(RecordMeta):
        model = Task
        fields = fields_of(TASK_FIELDSETS)

    def setup_choices(self) -> None:
        if "assignee" in self.fields:
            self.fields["assignee"].queryset = with_current(
                assignable_users(self.user), self.instance.assignee_id
            ).order_by("name", "email")
            if self.instance._state.adding:
                self.initial.setdefault("assignee", self.user.pk)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        chosen = [
            name
            for name in TASK_PARENTS
            if cleaned.get(name, None if name in self.fields else getattr(self.instance, name))
        ]
        if len(chosen) > 1:
            # task_at_most_one_parent: the error goes on the second record picked.
            for name in chosen[1:]:
                if name in self.fields:
                    self.add_error(name, "A task is about one record at most.")
        return cleaned


class DocumentForm(RecordForm):
    tags = TagsField()
    fieldsets = DOCUMENT_FIELDSETS

    class Meta(RecordMeta):
        model = Document
        fields = fields_of(DOCUMENT_FIELDSETS)
        # Replace, never "clear": a document without file and URL is refused anyway.
        widgets = {"file": forms.FileInput}

    def setup_choices(self) -> None:
        self.limit_lookup("document_type", DocumentType.objects.all())
        if "name" in self.fields:
            self.fields["name"].required = False
            self.fields["name"].help_text = "Defaults to the file's name."
        if "file" in self.fields:
            self.fields["file"].help_text = f"At most {self._limit_label()}: {ACCEPTED_LABEL}."
        if "url" in self.fields:
            self.fields["url"].help_text = "Or a link to a file kept elsewhere (http or https)."

    @staticmethod
    def _limit_label() -> str:
        return str(filesizeformat(settings.DOCUMENT_MAX_BYTES))

    def clean_file(self) -> Any:
        upload = self.cleaned_data.get("file")
        if upload and hasattr(upload, "content_type"):  # a new upload, not the stored file
            try:
                inspect_upload(upload)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["file"]) from None
        return upload

    def clean_url(self) -> str:
        url = self.cleaned_data.get("url", "")
        if url and not url.lower().startswith(("http://", "https://")):
            raise ValidationError("Use an http or https address.")
        return url

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload = cleaned.get("file", self.instance.file)
        url = cleaned.get("url", self.instance.url)
        if not upload and not url and not self.has_error("file") and not self.has_error("url"):
            # document_file_or_url, said where the user can act on it.
            target = "file" if "file" in self.fields else "url"
            self.add_error(target, "Upload a file or give an external URL.")
        if "name" in self.fields and not cleaned.get("name"):
            cleaned["name"] = (getattr(upload, "name", "") or "").rsplit("/", 1)[-1] or url
        return cleaned
