"""What every CRM record shares: UUID key, owner, timestamps, legacy id, custom fields."""

from __future__ import annotations

import uuid
from typing import Any

import pgtrigger
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Func, TextField
from django.db.models.lookups import Exact
from django.utils import timezone

from .querysets import RecordManager

# Keeps updated_at true for every writer (ORM save, queryset.update(), raw SQL), and only when
# the row really changed, so a no-op save stays a no-op. A writer that sets updated_at itself
# (the Mongo import keeps source timestamps) wins. Rows are compared as JSONB without
# search_text: in a BEFORE trigger a stored generated column is still NULL in NEW, and
# PostgreSQL refuses whole-row NEW references in WHEN on such tables.
# statement_timestamp(), not now(): now() is the transaction's start, so a row created and then
# changed in one transaction (a service, a request) got an updated_at before its created_at.
touch_updated_at = pgtrigger.Trigger(
    name="touch_updated_at",
    when=pgtrigger.Before,
    operation=pgtrigger.Update,
    condition=pgtrigger.Condition("OLD.updated_at IS NOT DISTINCT FROM NEW.updated_at"),
    func=(
        "IF (to_jsonb(OLD) - 'search_text') IS DISTINCT FROM (to_jsonb(NEW) - 'search_text') "
        "THEN NEW.updated_at := statement_timestamp(); END IF; RETURN NEW;"
    ),
)


class TouchedRecord(models.Model):
    """A model whose updated_at the touch_updated_at trigger keeps (declared in its Meta)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        updating = not self._state.adding
        super().save(*args, **kwargs)
        if updating:
            # The trigger may have moved updated_at in the row but not on this instance. A
            # later save() would write the stale value back, which the trigger must keep as
            # "set by the writer", silently rolling updated_at back.
            self.refresh_from_db(fields=["updated_at"])


def currency_check(field: str, name: str) -> models.CheckConstraint:
    """ISO 4217-shaped currency codes only (three capitals)."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__regex": r"^[A-Z]{3}$"}), name=name
    )


def non_negative(field: str, name: str) -> models.CheckConstraint:
    """Money and sizes are never negative; NULL (unknown) is allowed."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__gte": 0}) | models.Q(**{f"{field}__isnull": True}),
        name=name,
    )


def json_type_check(field: str, json_type: str, name: str) -> models.CheckConstraint:
    """The JSONB column holds a value of this JSON type (object, array, ...)."""
    return models.CheckConstraint(
        condition=Exact(
            Func(F(field), function="jsonb_typeof", output_field=TextField()), json_type
        ),
        name=name,
    )


def default_currency() -> str:
    return settings.DEFAULT_CURRENCY


class HasDetailPage:
    """Records with a page of their own in the app, named crm:<model>.detail (crm/entities.py).
    Invoices have none (admin only), so this is a mixin, not part of the base class."""

    def get_absolute_url(self) -> str:
        from crm.record_urls import record_url

        return record_url(f"crm:{self._meta.model_name}.detail", self.pk)


class OwnedRecord(TouchedRecord):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # Reassign a user's records before deleting the user; deactivate them instead.
        on_delete=models.PROTECT,
        related_name="owned_%(class)ss",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False, db_index=False)
    # The source system's id for imported rows (a NextCRM ObjectId); makes imports idempotent.
    legacy_id = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)

    objects = RecordManager()

    class Meta:
        abstract = True
        ordering = ["-updated_at"]
        triggers = [touch_updated_at]
        indexes = [
            # "My records, most recently changed first" (list views filtered by owner).
            models.Index(F("owner"), F("updated_at").desc(), name="%(class)s_owner_upd_idx"),
            # Default list sort and "updated between" filters.
            models.Index(F("updated_at").desc(), name="%(class)s_updated_idx"),
            # "Created between" filters and "newest" sort.
            models.Index(F("created_at").desc(), name="%(class)s_created_idx"),
        ]


class CustomizableRecord(OwnedRecord):
    """A record with admin-defined fields, validated against CustomFieldDefinition."""

    # Set by each concrete model: the CustomFieldDefinition.entity its fields belong to.
    CUSTOM_FIELDS_ENTITY: str = ""

    custom_fields = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    # The owner's teammates may see the record (docs/permissions.md); off means only the
    # owner, their manager, admins and watchers do.
    shared_with_team = models.BooleanField(
        default=False, help_text="Teammates of the owner can see this record."
    )

    class Meta(OwnedRecord.Meta):
        abstract = True
        indexes = [
            *OwnedRecord.Meta.indexes,
            # Custom field filters: custom_fields @> '{"key": value}'.
            GinIndex(OpClass(F("custom_fields"), name="jsonb_path_ops"), name="%(class)s_cf_gin"),
            # A sales rep's view of teammates' shared records: owner_id IN (team) AND
            # shared_with_team, latest first, without reading the unshared rows.
            models.Index(
                F("owner"),
                F("updated_at").desc(),
                condition=models.Q(shared_with_team=True),
                name="%(class)s_shared_owner_idx",
            ),
        ]
        constraints = [
            # Values are keyed by definition: the column always holds one JSON object.
            json_type_check("custom_fields", "object", "%(class)s_cf_is_object"),
        ]

    def clean(self) -> None:
        from crm.custom_fields import validate_custom_fields

        super().clean()
        self.custom_fields = validate_custom_fields(self.CUSTOM_FIELDS_ENTITY, self.custom_fields)


class Lookup(models.Model):
    """A short admin-managed list (industries, deal types, ...)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120, unique=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    legacy_id = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)

    class Meta:
        abstract = True
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name
