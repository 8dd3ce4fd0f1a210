"""Saved list views: a user's named filter sets for one entity's list page."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

# The list page keys (crm/entities.py); kept literal here because crm.entities imports models.
ENTITY_CHOICES = [
    ("company", "Companies"),
    ("contact", "Contacts"),
    ("lead", "Leads"),
    ("deal", "Deals"),
    ("contract", "Contracts"),
    ("task", "Tasks"),
    ("document", "Documents"),
]


class SavedView(models.Model):
    """A named query string of a list page (`?status=open&sort=-amount`), private to its owner.

    Only the query string is stored: the list page parses it against the entity's allow-list
    on every use, so a view saved before a filter or custom field was removed still opens.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_views",
        db_index=False,
    )
    entity = models.CharField(max_length=16, choices=ENTITY_CHOICES)
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["owner", "entity", "name"]
        constraints = [
            # One meaning per name on a list page; saving under an existing name replaces it.
            # Its index (owner, entity, name) also serves the list page's "my saved views".
            models.UniqueConstraint(
                fields=["owner", "entity", "name"], name="savedview_owner_entity_name_uniq"
            ),
        ]

    def __str__(self) -> str:
        return self.name
