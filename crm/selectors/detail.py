"""Reads of the detail pages: a record's fields and custom fields, and the rows the related
panels (crm/selectors/panels.py) fill.

A foreign key to another record is shown only when the user may see that record
(permissions.viewable, as can_view decides), so a page never names a record the user may not
open. The targets are read by key (one query per target model) and checked together: no query
for targets the user or their team owns, one per target model for the others.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from accounts.models import User
from crm import models as crm
from crm import permissions
from crm.forms.custom_fields import custom_field_name
from crm.models import CustomFieldDefinition
from crm.models.base import HasDetailPage

PANEL_LIMIT = 10
# Shown in the page header or nowhere: keys, bookkeeping, denormalised search text.
_NOT_IN_GRID = {"id", "legacy_id", "custom_fields", "search_text", "owner", "updated_at"}
_LAST_IN_GRID = {"shared_with_team", "created_at"}
_BADGE_FIELDS = ("status", "stage", "type", "priority", "kind")
# Lookup foreign keys joined into a detail page's one query for the record. Not the records
# it points at: each join costs PostgreSQL planning time (the deal's query took 5.5 ms to plan
# with its company and contact joined, 1.7 ms without), field_rows reads those by key.
RELATED_LOOKUPS: dict[str, tuple[str, ...]] = {
    "company": ("owner", "industry"),
    "contact": ("owner",),
    "lead": ("owner", "campaign"),
    # str(stage) names its pipeline.
    "deal": ("owner", "pipeline", "stage__pipeline", "type", "campaign"),
    "contract": ("owner",),
    "task": ("owner", "assignee"),
    "document": ("owner", "document_type"),
}


@dataclass
class FieldRow:
    """One line of the fields grid. `inline` rows are rendered by `{% inline_field %}`."""

    name: str
    label: str
    inline: bool = False
    value: Any = None
    url: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class PanelRow:
    title: str
    url: str | None
    badge: str = ""
    badge_label: str = ""
    meta: list[str] = field(default_factory=list)
    pk: Any = None
    # Where the row's "Remove" button posts (crm/views/links.py); None: no button.
    remove_url: str | None = None


@dataclass
class Panel:
    key: str
    title: str
    rows: list[PanelRow]
    count: int
    count_capped: bool = False  # count is a floor: there are at least this many
    more_url: str | None = None
    add_url: str | None = None
    # An inline link form (crm/forms/links.py) and where it posts; None: no form.
    form: Any = None
    form_url: str | None = None

    @property
    def has_more(self) -> bool:
        return self.count > len(self.rows)


def _link(obj: models.Model) -> str | None:
    return obj.get_absolute_url() if isinstance(obj, HasDetailPage) else None


# --- fields ------------------------------------------------------------------------------


def _is_inline(f: models.Field) -> bool:
    """Scalar columns people edit in place; relations, arrays, JSON and files have forms."""
    return f.editable and not (
        f.is_relation
        or isinstance(f, ArrayField | models.JSONField | models.FileField | models.GeneratedField)
    )


# Relations a governed record's str() reads.
_STR_RELATIONS: dict[type[models.Model], tuple[str, ...]] = {crm.Section: ("board",)}


def _governed_targets(
    record: models.Model, fields: list[models.Field]
) -> dict[tuple[type[models.Model], Any], models.Model]:
    """The records `record`'s foreign keys to governed models point at, by (model, key)."""
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    for f in fields:
        if f.is_relation and permissions.governs(f.related_model):
            value = getattr(record, f.attname)
            if value is not None:
                wanted[f.related_model].add(value)
    # Only the joins str() needs (a section is named with its board), not select_related()
    # with no arguments, which joins every non-null foreign key of the target.
    return {
        (model, obj.pk): obj
        for model, ids in wanted.items()
        for obj in model._default_manager.select_related(*_STR_RELATIONS.get(model, ())).filter(
            pk__in=ids
        )
    }


def field_rows(user: User, record: models.Model) -> list[FieldRow]:
    """Every shown field of `record` in model order. A foreign key to a governed record is
    shown only when the user may see it (an invisible one shows empty). The targets are read
    by primary key, one query per target model, and checked together (permissions.viewable):
    no query for records the user or their team owns, one per target model for the rest."""
    concrete = [f for f in record._meta.concrete_fields if f.name not in _NOT_IN_GRID]
    # The base classes' bookkeeping columns come first in the model; people read them last.
    concrete.sort(key=lambda f: f.name in _LAST_IN_GRID)
    targets = _governed_targets(record, concrete)
    visible = permissions.viewable(user, targets.values())
    rows = []
    for f in concrete:
        label = str(f.verbose_name).capitalize()
        if _is_inline(f):
            rows.append(FieldRow(f.name, label, inline=True))
        elif f.is_relation:
            target_id = getattr(record, f.attname)
            if permissions.governs(f.related_model):
                target = targets.get((f.related_model, target_id))
                if target is not None and (type(target), target.pk) not in visible:
                    target = None
            else:
                target = getattr(record, f.name) if target_id is not None else None
            url = _link(target) if target is not None else None
            rows.append(FieldRow(f.name, label, value=target, url=url))
        elif isinstance(f, ArrayField):
            rows.append(FieldRow(f.name, label, tags=list(getattr(record, f.name) or [])))
        elif isinstance(f, models.JSONField):
            data = getattr(record, f.name) or {}
            text = ", ".join(f"{k}: {v}" for k, v in sorted(data.items()))
            rows.append(FieldRow(f.name, label, value=text))
        elif isinstance(f, models.FileField):
            file = getattr(record, f.name)
            rows.append(
                FieldRow(f.name, label, value=file.name.rsplit("/", 1)[-1] if file else "")
            )
        else:
            rows.append(FieldRow(f.name, label, value=getattr(record, f.name)))
    return rows


def header_badges(record: models.Model) -> list[tuple[str, str]]:
    """(css class, label) of the record's status-like fields, for the page header."""
    badges = []
    for name in _BADGE_FIELDS:
        try:
            f = record._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if f.choices:
            badges.append((getattr(record, name), getattr(record, f"get_{name}_display")()))
        elif name == "stage" and record.stage_id:
            badges.append(("stage", str(record.stage)))
    return badges


def custom_field_rows(
    record: crm.CustomizableRecord, definitions: dict[str, CustomFieldDefinition]
) -> list[FieldRow]:
    """The record's custom fields in their definitions' order (`definitions`: the entity's,
    as crm_inline.definitions caches them for the request, so the page reads them once).
    Each is shown and edited by the inline-edit tag, which formats the value by its type and
    knows the field by its form name (cf_<key>); keys without a definition are not shown."""
    return [FieldRow(custom_field_name(d.key), d.label, inline=True) for d in definitions.values()]


def task_comments(user: User, task: crm.Task, limit: int = 50) -> list[crm.TaskComment]:
    """A task's comments, oldest first, the latest `limit` of them."""
    qs = crm.TaskComment.objects.filter(task=task).visible_to(user).select_related("author")
    return list(reversed(qs.order_by("-created_at")[:limit]))
