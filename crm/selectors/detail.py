"""Reads of the detail pages: a record's fields, its custom fields and its related panels.

Every related record goes through the visibility layer (`visible_to(user)`), foreign keys to
other records included, so a page never names a record the user may not open. Each function
runs a fixed number of queries whatever the number of related rows: a panel fetches
`limit + 1` rows and counts only when that extra row says there are more (a panel that fits
costs one query), and foreign keys are resolved one query per model. Where the user may change
the record, the deal's Contacts panel and a document's panels also carry their link forms
(crm/forms/links.py, one query each when rendered) and per-row "Remove" URLs.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import F, Q, QuerySet
from django.urls import reverse

from accounts.models import User
from crm import models as crm
from crm.forms.custom_fields import CUSTOM_FIELD_PREFIX
from crm.forms.links import DOCUMENT_LINK_ENTITIES, DealContactForm, DocumentLinkForm
from crm.models import CustomFieldDefinition
from crm.models.base import HasDetailPage
from crm.templatetags.crm_ui import money

PANEL_LIMIT = 10
# Models whose rows the visibility layer governs: a foreign key to one is shown only when the
# user may see the target. Everything else a record points at (lookups, users) is public.
GOVERNED = (
    crm.Company,
    crm.Contact,
    crm.Lead,
    crm.Deal,
    crm.Contract,
    crm.Invoice,
    crm.Task,
    crm.Document,
    crm.Board,
    crm.Section,
)
# Shown in the page header or nowhere: keys, bookkeeping, denormalised search text.
_NOT_IN_GRID = {"id", "legacy_id", "custom_fields", "search_text", "owner", "updated_at"}
_LAST_IN_GRID = {"shared_with_team", "created_at"}
_BADGE_FIELDS = ("status", "stage", "type", "priority", "kind")
# Lookup foreign keys joined into a detail page's one query for the record.
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


def field_rows(user: User, record: models.Model) -> list[FieldRow]:
    """Every shown field of `record` in model order. Foreign keys to governed records are
    resolved through visible_to (one query per target model): an invisible one shows empty."""
    fks: dict[type[models.Model], set[Any]] = defaultdict(set)
    concrete = [f for f in record._meta.concrete_fields if f.name not in _NOT_IN_GRID]
    # The base classes' bookkeeping columns come first in the model; people read them last.
    concrete.sort(key=lambda f: f.name in _LAST_IN_GRID)
    for f in concrete:
        if f.is_relation and issubclass(f.related_model, GOVERNED):
            value = getattr(record, f.attname)
            if value is not None:
                fks[f.related_model].add(value)
    visible = {
        (model, obj.pk): obj
        for model, ids in fks.items()
        for obj in model.objects.visible_to(user).filter(pk__in=ids)
    }
    rows = []
    for f in concrete:
        label = str(f.verbose_name).capitalize()
        if _is_inline(f):
            rows.append(FieldRow(f.name, label, inline=True))
        elif f.is_relation:
            target_id = getattr(record, f.attname)
            if issubclass(f.related_model, GOVERNED):
                target = visible.get((f.related_model, target_id))
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


def _format_custom(definition: CustomFieldDefinition, value: Any) -> Any:
    kind = definition.field_type
    types = CustomFieldDefinition.FieldType
    if kind == types.BOOLEAN:
        return "Yes" if value else "No"
    if kind == types.MULTI_CHOICE and isinstance(value, list):
        return ", ".join(map(str, value))
    if kind == types.DATE and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    if kind == types.DECIMAL:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return value
    return value


def custom_field_rows(record: crm.CustomizableRecord) -> list[FieldRow]:
    """The record's custom fields in their definitions' order, values formatted by type.
    Keys without a definition (a field the admin removed) are not shown."""
    values = record.custom_fields or {}
    definitions = CustomFieldDefinition.objects.filter(entity=record.CUSTOM_FIELDS_ENTITY)
    rows = []
    for d in definitions.order_by("position", "label"):
        value = values.get(d.key)
        url = None
        if d.field_type == CustomFieldDefinition.FieldType.URL and value:
            url = value
        elif d.field_type == CustomFieldDefinition.FieldType.EMAIL and value:
            url = f"mailto:{value}"
        shown = None if value in (None, "", []) else _format_custom(d, value)
        # The inline-edit tag knows custom fields by their form field name (cf_<key>).
        name = f"{CUSTOM_FIELD_PREFIX}{d.key}"
        rows.append(FieldRow(name, d.label, inline=True, value=shown, url=url))
    return rows


# --- panels ------------------------------------------------------------------------------


def _url(name: str, **params: Any) -> str:
    return f"{reverse(name)}?{urlencode(params)}" if params else reverse(name)


def _panel(
    user: User,
    key: str,
    title: str,
    queryset: QuerySet,
    row: Callable[[Any], PanelRow],
    *,
    more: dict[str, Any] | None = None,
    add: dict[str, Any] | None = None,
    limit: int = PANEL_LIMIT,
) -> Panel:
    """One related panel: the first `limit` visible rows and their total. One query when
    they fit; the `limit + 1`-th row says there are more, and only then a count runs for the
    header and its "All N" link. `more` / `add` are the list / create parameters."""
    entity = queryset.model._meta.model_name
    visible = queryset.visible_to(user)
    objs = list(visible[: limit + 1])
    count = visible.count() if len(objs) > limit else len(objs)
    rows = []
    for obj in objs[:limit]:
        panel_row = row(obj)
        panel_row.pk = obj.pk
        rows.append(panel_row)
    return Panel(
        key=key,
        title=title,
        rows=rows,
        count=count,
        more_url=_url(f"crm:{entity}.list", **more) if more else None,
        add_url=_url(f"crm:{entity}.create", **add) if add is not None else None,
    )


def _contact_row(c: crm.Contact) -> PanelRow:
    return PanelRow(str(c), _link(c), meta=[m for m in (c.position, c.email) if m])


def _deal_row(d: crm.Deal) -> PanelRow:
    return PanelRow(
        str(d),
        _link(d),
        d.status,
        d.get_status_display(),
        meta=[d.stage.name, money(d.amount, d.currency)],
    )


def _contract_row(c: crm.Contract) -> PanelRow:
    end = [f"ends {c.end_date:%Y-%m-%d}"] if c.end_date else []
    return PanelRow(
        str(c), _link(c), c.status, c.get_status_display(), meta=[money(c.value, c.currency), *end]
    )


def _task_row(t: crm.Task) -> PanelRow:
    meta = [f"due {t.due_at:%Y-%m-%d}"] if t.due_at else []
    if t.assignee_id:
        meta.append(t.assignee.get_full_name())
    return PanelRow(str(t), _link(t), t.status, t.get_status_display(), meta=meta)


def _document_row(d: crm.Document) -> PanelRow:
    return PanelRow(
        str(d), _link(d), d.kind, d.get_kind_display(), meta=[d.mime_type] if d.mime_type else []
    )


def _lead_row(lead: crm.Lead) -> PanelRow:
    return PanelRow(
        str(lead),
        _link(lead),
        lead.status,
        lead.get_status_display(),
        meta=[m for m in (lead.company_name, lead.email) if m],
    )


def _simple_row(obj: Any) -> PanelRow:
    return PanelRow(str(obj), _link(obj))


def _tasks(**parent: Any) -> QuerySet:
    # Open tasks first (no completion time), soonest due first; done ones latest first.
    return (
        crm.Task.objects.filter(**parent)
        .select_related("assignee")
        .order_by(
            F("completed_at").desc(nulls_first=True),
            F("due_at").asc(nulls_last=True),
            "-created_at",
        )
    )


def _deals(condition: Q) -> QuerySet:
    return crm.Deal.objects.filter(condition).select_related("stage").order_by("-updated_at")


# (key, title, the record's related rows, row builder, offers an "add" link). The list and
# create pages take the parent as a parameter named after the foreign key: ?company=<pk>.
_Spec = tuple[str, str, Callable[[Any], QuerySet], Callable[[Any], PanelRow], bool]
_CONTACTS: _Spec = (
    "contacts",
    "Contacts",
    lambda r: r.contacts.order_by("last_name", "first_name"),
    _contact_row,
    True,
)
_CONTRACTS: _Spec = (
    "contracts",
    "Contracts",
    lambda r: r.contracts.order_by("-start_date"),
    _contract_row,
    True,
)
_DOCUMENTS: _Spec = (
    "documents",
    "Documents",
    lambda r: r.documents.order_by("-created_at"),
    _document_row,
    True,
)


def _tasks_spec(parent: str) -> _Spec:
    # Tasks are added inline from the timeline form, so the panel has no "add" link.
    return ("tasks", "Tasks", lambda r: _tasks(**{parent: r}), _task_row, False)


def _contact_deals(c: crm.Contact) -> QuerySet:
    # Deals it is the primary contact of, and deals it is linked to.
    linked = crm.Deal.contacts.through.objects.filter(contact_id=c.pk).values("deal_id")
    return _deals(Q(primary_contact=c) | Q(pk__in=linked))


def _deal_contacts(d: crm.Deal) -> QuerySet:
    # Its linked contacts and its primary contact: "Remove" takes a contact off both.
    linked = crm.Deal.contacts.through.objects.filter(deal_id=d.pk).values("contact_id")
    condition = Q(pk__in=linked)
    if d.primary_contact_id is not None:
        condition |= Q(pk=d.primary_contact_id)
    return crm.Contact.objects.filter(condition).order_by("last_name", "first_name")


PANEL_SPECS: dict[str, list[_Spec]] = {
    "company": [
        _CONTACTS,
        ("deals", "Deals", lambda c: _deals(Q(company=c)), _deal_row, True),
        _CONTRACTS,
        _tasks_spec("company"),
        _DOCUMENTS,
        ("leads", "Leads", lambda c: c.leads.order_by("-created_at"), _lead_row, True),
    ],
    "contact": [
        ("deals", "Deals", _contact_deals, _deal_row, True),
        _tasks_spec("contact"),
        _DOCUMENTS,
    ],
    "lead": [_tasks_spec("lead"), _DOCUMENTS],
    "deal": [
        ("contacts", "Contacts", _deal_contacts, _contact_row, False),
        _DOCUMENTS,
        _CONTRACTS,
        _tasks_spec("deal"),
    ],
    "contract": [_DOCUMENTS],
    "task": [_DOCUMENTS],
    # A document's linked records (invoices have no page). Their lists take no ?document=.
    "document": [
        ("companies", "Companies", lambda d: d.companies.order_by("name"), _simple_row, False),
        ("contacts", "Contacts", lambda d: d.contacts.order_by("last_name"), _contact_row, False),
        ("leads", "Leads", lambda d: d.leads.order_by("last_name"), _lead_row, False),
        ("deals", "Deals", lambda d: _deals(Q(documents=d)), _deal_row, False),
        ("contracts", "Contracts", lambda d: d.contracts.order_by("title"), _contract_row, False),
        ("tasks", "Tasks", lambda d: _tasks(documents=d), _task_row, False),
    ],
}


# A document's panels by key -> the entity the link views name (crm/views/links.py).
DOCUMENT_PANEL_ENTITIES = {
    "companies": "company",
    "contacts": "contact",
    "leads": "lead",
    "deals": "deal",
    "contracts": "contract",
    "tasks": "task",
}


def _add_link_actions(user: User, record: Any, panel: Panel) -> None:
    """The link form and "Remove" buttons of the panels that list links: a deal's contacts
    and a document's records. Only called when the user may change `record`."""
    key = record._meta.model_name
    if key == "deal" and panel.key == "contacts":
        for row in panel.rows:
            row.remove_url = reverse("crm:deal.contact_remove", args=[record.pk, row.pk])
            if row.pk == record.primary_contact_id:
                row.badge, row.badge_label = "primary", "Primary"
        panel.form = DealContactForm(user=user, deal=record)
        panel.form_url = reverse("crm:deal.contact_add", args=[record.pk])
    elif key == "document" and panel.key in DOCUMENT_PANEL_ENTITIES:
        entity = DOCUMENT_PANEL_ENTITIES[panel.key]
        for row in panel.rows:
            row.remove_url = reverse("crm:document.unlink", args=[record.pk, entity, row.pk])
        if entity in DOCUMENT_LINK_ENTITIES:
            panel.form = DocumentLinkForm(user=user, entity=entity)
            panel.form_url = reverse("crm:document.link", args=[record.pk])


def _build_panel(user: User, record: Any, spec: _Spec, *, can_add: bool) -> Panel:
    panel_key, title, rows, row, add = spec
    key = record._meta.model_name
    params = None if key == "document" else {key: record.pk}
    panel = _panel(
        user,
        panel_key,
        title,
        rows(record),
        row,
        more=params,
        add=params if add and can_add else None,
    )
    if can_add:
        _add_link_actions(user, record, panel)
    return panel


def related_panels(user: User, record: Any, *, can_add: bool) -> list[Panel]:
    """The related panels of a detail page, each through visible_to(user), one query each
    (two when a panel has more rows than it shows). "Add" links, link forms and "Remove"
    buttons only when `can_add` (adding to a record changes it)."""
    specs = PANEL_SPECS[record._meta.model_name]
    return [_build_panel(user, record, spec, can_add=can_add) for spec in specs]


def related_panel(user: User, record: Any, panel_key: str, *, can_add: bool) -> Panel:
    """One panel of `related_panels`, by key: what an htmx link endpoint re-renders."""
    specs = PANEL_SPECS[record._meta.model_name]
    spec = next(spec for spec in specs if spec[0] == panel_key)
    return _build_panel(user, record, spec, can_add=can_add)


def task_comments(user: User, task: crm.Task, limit: int = 50) -> list[crm.TaskComment]:
    """A task's comments, oldest first, the latest `limit` of them."""
    qs = crm.TaskComment.objects.filter(task=task).visible_to(user).select_related("author")
    return list(reversed(qs.order_by("-created_at")[:limit]))
