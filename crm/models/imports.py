"""CSV imports: one ImportRun per uploaded file, one ImportRow per data row it read.

The run is the record a user and the admins see (who, when, file, mode, counts) and the state
of a chunked import: the byte offset it has read up to, so the next chunk seeks there. Rows
keep what the import did to each line of the file: the record it created or updated (undo works
from these and the audit trail), and the errors of rejected lines with their cells (the
"rejected rows" CSV). Mappings remember, per user and entity, which field each header went to.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ImportRun(models.Model):
    class Mode(models.TextChoices):
        CREATE = "create", "Create new records only"
        UPDATE = "update", "Update existing records only"
        UPSERT = "upsert", "Create new and update existing records"

    class OnError(models.TextChoices):
        ALL_OR_NOTHING = "all", "All or nothing: import nothing if any row has an error"
        SKIP = "skip", "Skip bad rows: import the good rows, report the others"

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        CHECKING = "checking", "Checking"
        CHECKED = "checked", "Checked"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"
        UNDOING = "undoing", "Undoing"
        UNDONE = "undone", "Undone"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    entity = models.CharField(max_length=16)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="csv_imports"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=500)
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField()
    encoding = models.CharField(max_length=16)
    delimiter = models.CharField(max_length=1)
    headers = models.JSONField(default=list)
    # One entry per header: the ImportField name it goes to, or "" (ignored).
    mapping = models.JSONField(default=list)
    data_start = models.BigIntegerField(default=0)  # byte offset of the first data row
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.UPSERT)
    match_on = models.CharField(max_length=80, blank=True)
    on_error = models.CharField(max_length=4, choices=OnError.choices, default=OnError.SKIP)
    create_related = models.BooleanField(
        default=False, help_text="Create companies named in the file that do not exist yet."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    dry_run = models.BooleanField(default=True)  # the pass in progress writes nothing
    position = models.BigIntegerField(default=0)  # byte offset the current pass has read to
    last_row = models.PositiveIntegerField(default=1)  # the number of the last row read
    rows_total = models.PositiveIntegerField(null=True, blank=True)  # known after the check
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # The first rows as they will be stored (the dry run's preview).
    preview = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    undo_kept = models.PositiveIntegerField(default=0)  # rows changed since, left as they are

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # "My imports, newest first" (the imports page of a sales user).
            models.Index(fields=["created_by", "-created_at"], name="importrun_user_idx"),
            # Every import, newest first (admins' view and the admin list).
            models.Index(fields=["-created_at"], name="importrun_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(entity__in=["company", "contact", "lead", "deal"]),
                name="importrun_entity_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(mode__in=["create", "update", "upsert"]),
                name="importrun_mode_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(on_error__in=["all", "skip"]), name="importrun_on_error_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.entity}, {self.created_at:%Y-%m-%d %H:%M})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.UNDONE)

    @property
    def running(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.IMPORTING, self.Status.UNDOING)

    @property
    def rows_read(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped + self.failed


class ImportRow(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        UNCHANGED = "unchanged", "Unchanged"
        SKIP = "skip", "Skipped"
        ERROR = "error", "Rejected"
        # A company the import created because a row named it (create_related): undo deletes
        # it too. Carries the number of the row that named it first.
        RELATED = "related", "Created for a link"

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField()  # the row's number in the file (header = 1)
    action = models.CharField(max_length=10, choices=Action.choices)
    record_id = models.UUIDField(null=True, blank=True)
    # The row's match key, normalised: a second row with the same key is a duplicate.
    key = models.TextField(blank=True, db_collation="C")
    # [{"column": header, "value": cell, "reason": text}, ...] for rejected and skipped rows.
    errors = models.JSONField(default=list, blank=True)
    cells = models.JSONField(default=list, blank=True)  # kept for rejected rows only
    undo = models.CharField(max_length=120, blank=True)  # why undo left this row as it is

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            # A chunk that is retried after a crash cannot record a row twice.
            models.UniqueConstraint(
                fields=["run", "number"],
                condition=~models.Q(action="related"),
                name="importrow_run_number_uniq",
            ),
        ]
        indexes = [
            # Duplicate keys within a file: run = X AND key IN (the chunk's keys).
            models.Index(fields=["run", "key"], name="importrow_run_key_idx"),
            # Rejected rows CSV and undo: run = X AND action = 'error' ORDER BY number.
            models.Index(fields=["run", "action", "number"], name="importrow_run_action_idx"),
        ]

    def __str__(self) -> str:
        return f"row {self.number}: {self.get_action_display()}"


class ImportMapping(models.Model):
    """The header -> field choices a user made last time for an entity, as suggestions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    entity = models.CharField(max_length=16)
    choices = models.JSONField(default=dict)  # normalised header -> field name ("" = ignored)
    # Not updated_at: that name means "kept by the touch_updated_at trigger" on CRM records.
    saved_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "entity"], name="importmapping_user_entity")
        ]

    def __str__(self) -> str:
        return f"{self.entity} mapping of {self.user_id}"
