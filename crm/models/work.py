"""Work around the records: tasks and project boards, notes, documents."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F
from django.utils import timezone

from crm.search import SearchText, SimpleTsVector, icontains_index

from .base import (
    CustomizableRecord,
    HasDetailPage,
    OwnedRecord,
    TouchedRecord,
    non_negative,
    touch_updated_at,
)
from .deals import Contract, Deal, Invoice
from .lookups import DocumentType
from .parties import Company, Contact, Lead, tags_field
from .querysets import RecordManager

# The CRM records a task or a note can hang off; each is a real foreign key.
PARENT_FIELDS = ("company", "contact", "lead", "deal")


def _parents_nonnull() -> models.Func:
    return models.Func(
        *[F(f"{name}_id") for name in PARENT_FIELDS],
        function="num_nonnulls",
        output_field=models.IntegerField(),
    )


class Board(HasDetailPage, OwnedRecord):
    """A project board (kanban): sections in order, tasks in order within them."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private"
        TEAM = "team", "Team"
        PUBLIC = "public", "Everyone"

    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    icon = models.CharField(max_length=64, blank=True)
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    position = models.IntegerField(default=0)
    shared_with = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="shared_boards"
    )
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="watched_boards"
    )

    class Meta(OwnedRecord.Meta):
        ordering = ["position", "title"]

    def __str__(self) -> str:
        return self.title


class Section(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    board = models.ForeignKey(
        Board, on_delete=models.CASCADE, related_name="sections", db_index=False
    )
    title = models.CharField(max_length=255)
    position = models.IntegerField(default=0)
    legacy_id = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)

    objects = RecordManager()

    class Meta:
        ordering = ["board", "position"]
        indexes = [
            # A board's columns in order.
            models.Index(fields=["board", "position"], name="section_board_pos_idx"),
        ]

    def __str__(self) -> str:
        # Autocompletes list sections of many boards: name the board too.
        return f"{self.board.title}: {self.title}" if self.board_id else self.title


# Task statuses still to do: the dashboard's and "my tasks"' open lists, and the partial indexes
# serving them (Task.Status values; a module name, so Task.Meta can read it).
OPEN_TASK_STATUSES = ("open", "in_progress")


class Task(HasDetailPage, CustomizableRecord):
    """A to-do: on a CRM record (company, contact, lead or deal), on a project board, or loose."""

    CUSTOM_FIELDS_ENTITY = "task"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"

    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.MEDIUM)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    due_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tasks",
        db_index=False,
    )
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tasks",
        db_index=False,
    )
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tasks",
        db_index=False,
    )
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks", db_index=False
    )
    deal = models.ForeignKey(
        Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks", db_index=False
    )
    # Project tasks sit in a board's section; the board is section.board.
    section = models.ForeignKey(
        Section,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tasks",
        db_index=False,
    )
    position = models.IntegerField(default=0)
    tags = tags_field()

    class Meta(CustomizableRecord.Meta):
        indexes = [
            *CustomizableRecord.Meta.indexes,
            # "My open tasks, overdue first": assignee + status, by due date.
            models.Index(fields=["assignee", "status", "due_at"], name="task_assignee_due_idx"),
            # The dashboard's "my open tasks", soonest due first, LIMIT 10: open and in-progress
            # in one index order (the index above sorts by status first, so its two ranges
            # had to be merged and sorted: 12,000 rows for a rep at 300k tasks).
            models.Index(
                fields=["assignee", "due_at"],
                condition=models.Q(status__in=OPEN_TASK_STATUSES),
                name="task_assignee_open_due_idx",
            ),
            # "My tasks" also lists the open tasks I own that nobody is assigned, by due date
            # (crm.selectors.tasks._mine merges this arm with the one above).
            models.Index(
                fields=["owner", "due_at"],
                condition=models.Q(assignee__isnull=True, status__in=OPEN_TASK_STATUSES),
                name="task_owner_unassigned_due_idx",
            ),
            # ...and with "show done", the latest done ones, both arms by completion time (an
            # organisation that never assigns tasks would otherwise read all its done tasks).
            models.Index(
                fields=["assignee", "-completed_at"],
                condition=models.Q(status="done"),
                name="task_assignee_done_idx",
            ),
            models.Index(
                fields=["owner", "-completed_at"],
                condition=models.Q(assignee__isnull=True, status="done"),
                name="task_owner_unassigned_done_idx",
            ),
            # A company / contact / lead / deal's tasks: its panel (the keys, counted and
            # sorted) and its timeline, newest created first, LIMIT 21. Without the date the
            # timeline walked the whole table's created_at index testing each task's parent:
            # 3.7 ms for the company with 2,000 of the 300,000 tasks.
            models.Index(F("company"), F("created_at").desc(), name="task_company_created_idx"),
            models.Index(F("contact"), F("created_at").desc(), name="task_contact_created_idx"),
            models.Index(F("lead"), F("created_at").desc(), name="task_lead_created_idx"),
            models.Index(F("deal"), F("created_at").desc(), name="task_deal_created_idx"),
            # A board section's cards in order.
            models.Index(fields=["section", "position"], name="task_section_pos_idx"),
            GinIndex(fields=["tags"], name="task_tags_gin"),
            # The task list's ?q= (title icontains).
            icontains_index("title", "task_title_trgm"),
        ]
        constraints = [
            *CustomizableRecord.Meta.constraints,
            # One CRM parent at most: the record the task is about.
            models.CheckConstraint(
                condition=models.lookups.LessThanOrEqual(_parents_nonnull(), 1),
                name="task_at_most_one_parent",
            ),
            # Done tasks say when; open ones do not.
            models.CheckConstraint(
                condition=models.Q(status="done") | models.Q(completed_at__isnull=True),
                name="task_completed_only_when_done",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class TaskComment(TouchedRecord):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="comments", db_index=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="task_comments",
        db_index=False,
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    legacy_id = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)

    objects = RecordManager()

    class Meta:
        ordering = ["created_at"]
        triggers = [touch_updated_at]
        indexes = [
            # A task's comments in order.
            models.Index(fields=["task", "created_at"], name="taskcomment_task_idx"),
            models.Index(fields=["author"], name="taskcomment_author_idx"),
        ]

    def __str__(self) -> str:
        return self.body[:60]


class Note(TouchedRecord):
    """A note on exactly one CRM record."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    body = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notes",
        db_index=False,
    )
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notes",
        db_index=False,
    )
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notes",
        db_index=False,
    )
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="notes", db_index=False
    )
    deal = models.ForeignKey(
        Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="notes", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    legacy_id = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)

    objects = RecordManager()

    class Meta:
        ordering = ["-created_at"]
        triggers = [touch_updated_at]
        indexes = [
            # Timelines: a record's notes, newest first.
            models.Index(F("company"), F("created_at").desc(), name="note_company_idx"),
            models.Index(F("contact"), F("created_at").desc(), name="note_contact_idx"),
            models.Index(F("lead"), F("created_at").desc(), name="note_lead_idx"),
            models.Index(F("deal"), F("created_at").desc(), name="note_deal_idx"),
            models.Index(fields=["author"], name="note_author_idx"),
            # Full-text search over note bodies.
            GinIndex(SimpleTsVector(SearchText("body")), name="note_body_fts"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.lookups.Exact(_parents_nonnull(), 1),
                name="note_exactly_one_parent",
            ),
        ]

    def __str__(self) -> str:
        return self.body[:60]


class Document(HasDetailPage, CustomizableRecord):
    """A file stored under MEDIA_ROOT, or a link to one kept elsewhere."""

    CUSTOM_FIELDS_ENTITY = "document"

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        RECEIPT = "receipt", "Receipt"
        CONTRACT = "contract", "Contract"
        OFFER = "offer", "Offer"
        OTHER = "other", "Other"

    name = models.CharField(max_length=255)
    file = models.FileField(upload_to="documents/%Y/%m/", max_length=500, blank=True)
    url = models.URLField("external URL", max_length=1000, blank=True)
    mime_type = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField(null=True, blank=True, help_text="Bytes.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OTHER)
    document_type = models.ForeignKey(
        DocumentType,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="documents",
        db_index=False,
    )
    description = models.TextField(blank=True)
    tags = tags_field()
    companies = models.ManyToManyField(Company, blank=True, related_name="documents")
    contacts = models.ManyToManyField(Contact, blank=True, related_name="documents")
    leads = models.ManyToManyField(Lead, blank=True, related_name="documents")
    deals = models.ManyToManyField(Deal, blank=True, related_name="documents")
    contracts = models.ManyToManyField(Contract, blank=True, related_name="documents")
    tasks = models.ManyToManyField(Task, blank=True, related_name="documents")
    invoices = models.ManyToManyField(Invoice, blank=True, related_name="documents")

    class Meta(CustomizableRecord.Meta):
        indexes = [
            *CustomizableRecord.Meta.indexes,
            models.Index(fields=["document_type"], name="document_type_idx"),
            models.Index(fields=["kind"], name="document_kind_idx"),
            # The document list's ?q= (name icontains).
            icontains_index("name", "document_name_trgm"),
        ]
        constraints = [
            *CustomizableRecord.Meta.constraints,
            non_negative("size", "document_size_non_negative"),
            # A document is a stored file or a link; an empty shell is refused.
            models.CheckConstraint(
                condition=~models.Q(file="") | ~models.Q(url=""), name="document_file_or_url"
            ),
        ]

    def __str__(self) -> str:
        return self.name
