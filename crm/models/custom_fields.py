"""Admin-defined fields: one definition per entity and key; values live in custom_fields."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models


class CustomFieldDefinition(models.Model):
    class Entity(models.TextChoices):
        COMPANY = "company", "Company"
        CONTACT = "contact", "Contact"
        LEAD = "lead", "Lead"
        DEAL = "deal", "Deal"
        CONTRACT = "contract", "Contract"
        TASK = "task", "Task"
        DOCUMENT = "document", "Document"
        INVOICE = "invoice", "Invoice"

    class FieldType(models.TextChoices):
        TEXT = "text", "Text"
        LONG_TEXT = "long_text", "Long text"
        NUMBER = "number", "Whole number"
        DECIMAL = "decimal", "Decimal"
        DATE = "date", "Date"
        BOOLEAN = "boolean", "Yes / no"
        CHOICE = "choice", "Choice"
        MULTI_CHOICE = "multi_choice", "Multiple choice"
        URL = "url", "URL"
        EMAIL = "email", "Email"

    CHOICE_TYPES = (FieldType.CHOICE, FieldType.MULTI_CHOICE)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    entity = models.CharField(max_length=16, choices=Entity.choices)
    key = models.SlugField(
        max_length=63,
        help_text="Stored key: lowercase letters, digits and underscores, starting with a letter.",
    )
    label = models.CharField(max_length=120)
    field_type = models.CharField(max_length=16, choices=FieldType.choices)
    choices = ArrayField(
        models.CharField(max_length=120),
        default=list,
        blank=True,
        help_text="For choice fields: the allowed values.",
    )
    required = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    help_text = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["entity", "position", "label"]
        constraints = [
            # The key is the JSON key in custom_fields: one meaning per entity.
            models.UniqueConstraint(fields=["entity", "key"], name="cfdef_entity_key_uniq"),
            models.CheckConstraint(
                condition=models.Q(key__regex=r"^[a-z][a-z0-9_]*$"), name="cfdef_key_format"
            ),
            # Choice fields need their choices; other types must not carry any.
            models.CheckConstraint(
                condition=(
                    models.Q(field_type__in=["choice", "multi_choice"]) & ~models.Q(choices=[])
                )
                | (~models.Q(field_type__in=["choice", "multi_choice"]) & models.Q(choices=[])),
                name="cfdef_choices_match_type",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_entity_display()}: {self.label}"

    def clean(self) -> None:
        super().clean()
        if self.field_type in self.CHOICE_TYPES:
            if not self.choices:
                raise ValidationError({"choices": "A choice field needs at least one choice."})
            if len(set(self.choices)) != len(self.choices):
                raise ValidationError({"choices": "Choices must be unique."})
        elif self.choices:
            raise ValidationError({"choices": "Only choice fields take choices."})
