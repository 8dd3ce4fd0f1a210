"""The record types that have pages of their own, and the URL names every page links by.

One registry so that lists, detail pages, forms, search and the navigation agree on an entity's
slug, labels and URL names. URL names follow `crm:<key>.<view>` (`crm:deal.detail`); the views
behind them live in crm/views/ by area.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Model
from django.urls import reverse

from crm import models


@dataclass(frozen=True)
class Entity:
    key: str  # "company": URL names, custom field entity, template names
    plural: str  # "companies": the URL path
    model: type[Model]

    @property
    def label(self) -> str:
        return str(self.model._meta.verbose_name)

    @property
    def label_plural(self) -> str:
        return str(self.model._meta.verbose_name_plural)

    def url_name(self, view: str) -> str:
        return f"crm:{self.key}.{view}"

    def url(self, view: str, *args: Any) -> str:
        return reverse(self.url_name(view), args=args)


ENTITIES: dict[str, Entity] = {
    e.key: e
    for e in (
        Entity("company", "companies", models.Company),
        Entity("contact", "contacts", models.Contact),
        Entity("lead", "leads", models.Lead),
        Entity("deal", "deals", models.Deal),
        Entity("contract", "contracts", models.Contract),
        Entity("task", "tasks", models.Task),
        Entity("document", "documents", models.Document),
    )
}


def entity_for(model_or_obj: type[Model] | Model) -> Entity:
    """The entity of a model or a record (KeyError for models without pages)."""
    return ENTITIES[model_or_obj._meta.model_name]
