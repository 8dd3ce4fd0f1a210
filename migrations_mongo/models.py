"""What the MongoDB import keeps in PostgreSQL: its checkpoints, its log, and every source value
that has no column of its own. Kept in the database, never only in memory or a file, so that a
run killed at any moment resumes from what was committed with the rows themselves."""

from __future__ import annotations

from django.db import models


class CollectionState(models.Model):
    """How far the import of one source collection got: written in the same transaction as each
    batch of rows, so the checkpoint and the data can never disagree."""

    collection = models.CharField(max_length=100, primary_key=True)
    # Which source this checkpoint belongs to (dump folder or server and database, never a
    # password): resuming against another source would skip the wrong documents.
    source = models.CharField(max_length=500)
    # Documents consumed from the source stream, in its order (a dump's file order, a live
    # server's _id order), and the last one's _id: a dump resumes by position, a live server
    # by _id.
    position = models.BigIntegerField(default=0)
    last_id = models.CharField(max_length=64, blank=True)
    imported = models.BigIntegerField(default=0)
    skipped = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    done = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["collection"]

    def __str__(self) -> str:
        return self.collection


class ImportIssue(models.Model):
    """One line of the import's log: a document not imported (`failed`, `skipped`) or a value
    that could not go into its column as it was (`warning`: set to null, replaced by a
    placeholder, or kept in the leftovers)."""

    class Kind(models.TextChoices):
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        WARNING = "warning", "Warning"

    collection = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    field = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.TextField()
    # The offending value, or for a document that was not imported the whole document (as
    # MongoDB extended JSON), so nothing is lost even when a row could not be made of it.
    value = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The report's counts per collection and kind, and "what went wrong in contacts".
            models.Index(fields=["collection", "kind"], name="mongo_issue_coll_kind_idx"),
            # The validator's "was this document skipped, and why": by ObjectId.
            models.Index(fields=["object_id"], name="mongo_issue_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.collection} {self.object_id} {self.field}: {self.reason}"


class Leftover(models.Model):
    """Source fields of an imported document that have no column in minicrm (legacy fields,
    NextCRM-only fields such as a lead's type, values that could not be converted), kept as
    they were. Also the whole documents of collections kept without a table (MyAccount, ...)."""

    collection = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    data = models.JSONField()

    class Meta:
        ordering = ["collection", "object_id"]
        indexes = [
            # Admin search and the validator's look-ups by ObjectId alone.
            models.Index(fields=["object_id"], name="mongo_leftover_object_idx"),
        ]
        constraints = [
            # One leftover row per source document; re-imports update it in place.
            models.UniqueConstraint(
                fields=["collection", "object_id"], name="mongo_leftover_doc_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.collection} {self.object_id}"


class Alias(models.Model):
    """A source ObjectId that resolves to a row imported under another ObjectId, or to a row
    that was already there: two NextCRM users whose emails differ only by case are one minicrm
    account, and a lookup whose name already exists is that lookup."""

    object_id = models.CharField(max_length=64, primary_key=True)
    target_table = models.CharField(max_length=100)
    target_id = models.UUIDField()

    class Meta:
        indexes = [
            # The resolver's "which aliases point into this table".
            models.Index(fields=["target_table", "object_id"], name="mongo_alias_table_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.object_id} -> {self.target_table} {self.target_id}"


class PendingLink(models.Model):
    """One side's claim of a many-to-many link (a contact's opportunitiesIDs entry, or an
    opportunity's connected_contacts entry), stored while the collections are imported and
    turned into link rows, from the union of both sides, once every collection is in."""

    link = models.CharField(max_length=40)
    # ObjectIds of the link's two ends, always in the link's own order (owner side first).
    left_id = models.CharField(max_length=64)
    right_id = models.CharField(max_length=64)
    # The collection of the document that claimed the link, and whether it is the left end
    # (so an unresolved claim is logged against the right document).
    collection = models.CharField(max_length=100)
    claimed_by_left = models.BooleanField()

    class Meta:
        ordering = ["id"]
        indexes = [
            # The links phase takes each link's claims in id order, a chunk at a time.
            models.Index(fields=["link", "id"], name="mongo_pending_link_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.link}: {self.left_id} - {self.right_id}"
