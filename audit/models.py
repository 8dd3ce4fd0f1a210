"""The audit log: one append-only table written by PostgreSQL triggers, read by Django.

The table, its indexes and its triggers are SQL in `audit/migrations/0001_initial.py`; the model
is unmanaged so that Django never creates, alters or TRUNCATEs it (`manage.py flush` and the
test runner's flush skip unmanaged models; a TRUNCATE would be refused anyway). Indexes, for
the record: (record_id, occurred_at, id) for one record's history; (related_id, occurred_at,
id) for the other side of link-table rows; (table_name, id) and (user_id, id) for the admin
log's filters; BRIN (occurred_at) for time ranges and pruning. See docs/audit.md.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class DecimalJSONDecoder(json.JSONDecoder):
    """Reads JSON numbers with a fraction as Decimal: amounts keep their exact value."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parse_float", Decimal)
        super().__init__(*args, **kwargs)


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        INSERT = "insert", "Created"
        UPDATE = "update", "Changed"
        DELETE = "delete", "Deleted"
        TRUNCATE = "truncate", "Table emptied"
        BULK = "bulk", "Bulk write"
        PRUNE = "prune", "Pruned"
        # A list exported to CSV (crm/exports.py): who, which entity, with what filter.
        EXPORT = "export", "Exported"

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField()
    # The writing transaction: groups the rows one save, request or command step produced.
    txid = models.BigIntegerField()
    action = models.CharField(max_length=16, choices=Action.choices)
    # NULL, not "", where there is none (the SQL writes NULL): a bulk summary has no table, a
    # truncate no record. NULLs also stay out of the partial indexes.
    table_name = models.TextField(null=True, db_collation="C")  # noqa: DJ001
    # The record's primary key as text; for a link-table row, the key of the model declaring
    # the many-to-many field (the deal of a deal-contact link).
    record_id = models.TextField(null=True, db_collation="C")  # noqa: DJ001
    # A link-table row's other side (the contact of a deal-contact link).
    related_id = models.TextField(null=True, db_collation="C")  # noqa: DJ001
    changed_fields = ArrayField(models.TextField(), null=True)
    # The row after an insert or update, the last state before a delete; the batch description
    # of a bulk summary; the cut-off and count of a prune; an export's entity and filter.
    # Secrets masked, derived columns out.
    snapshot = models.JSONField(null=True, decoder=DecimalJSONDecoder)
    # An update's previous values of the changed columns only.
    old_values = models.JSONField(null=True, decoder=DecimalJSONDecoder)
    # Who acted (NULL for system writes). No foreign key: entries outlive users.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # Web: request_id, method, path, ip (and forwarded_for). Command: command, args, options.
    # Neither (psql, a script): application_name.
    context = models.JSONField(default=dict)
    # The PostgreSQL login role of the writing session (session_user).
    db_role = models.TextField()

    class Meta:
        managed = False
        db_table = "audit_event"
        ordering = ["-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        what = f"{self.table_name} {self.record_id}" if self.record_id else self.table_name or ""
        return f"{self.get_action_display()} {what}".strip()
