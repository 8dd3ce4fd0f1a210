"""The related panels of the detail pages: a record's contacts, deals, tasks, documents...

Every panel goes through the visibility layer (`visible_to(user)`), except rows whose
visibility follows the record the page already checked (its tasks and documents:
`permissions.visible_through`). A panel is one query: its first `limit` rows, only the columns
its row shows, and their total as a subquery in the same statement (a second round trip through
the visibility filter cost about 5 ms at 1M contacts), counting at most COUNT_CAP rows (all of
them cost 28-37 ms for a company with 20,000 contacts). Row URLs are made from one reverse()
per panel. Where the user may change the record, the deal's
Contacts panel and a document's panels also carry their link forms (crm/forms/links.py, one
query each when rendered) and per-row "Remove" URLs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import EmptyResultSet
from django.db.models import F, IntegerField, Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse

from accounts.models import User
from crm import models as crm
from crm import permissions
from crm.fence import Fence
from crm.forms.links import DOCUMENT_LINK_ENTITIES, DealContactForm, DocumentLinkForm
from crm.models.base import HasDetailPage
from crm.record_urls import record_url
from crm.selectors.detail import PANEL_LIMIT, Panel, PanelRow
from crm.templatetags.crm_ui import money


def _url(name: str, **params: Any) -> str:
    return f"{reverse(name)}?{urlencode(params)}" if params else reverse(name)


def _detail_urls(model: type[Model]) -> Callable[[Any], str | None]:
    """A function giving a row's detail URL from its key (crm.record_urls: one reverse() per
    URL name), or None for a model without a page."""
    if not issubclass(model, HasDetailPage):
        return lambda pk: None
    name = f"crm:{model._meta.model_name}.detail"
    return lambda pk: record_url(name, pk)


# The most rows a panel's total counts; beyond it the header says "1,000+".
COUNT_CAP = 1000


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
    parent: Any = None,
) -> Panel:
    """One related panel: the first `limit` visible rows and their total (up to COUNT_CAP), in
    one query. `more` / `add` are the list / create parameters."""
    model = queryset.model
    entity = model._meta.model_name
    rule = _rows_rule(user, queryset, parent)
    # A reverse manager (company.contacts) sets each row's foreign key to the parent, which
    # reads that column: it is fetched too, or each row would load it with a query of its own.
    parent_model = type(parent) if parent is not None else None
    to_parent = [
        f.name
        for f in model._meta.concrete_fields
        if f.is_relation and f.related_model is parent_model
    ]
    columns = (*_COLUMNS[row], *to_parent)
    # One query: the first `limit` visible keys in the panel's order (read in index order
    # where an index serves it), whose rows alone are read in full, and the total as a
    # subquery (an InitPlan, run once) counting at most COUNT_CAP visible keys. A company
    # with 20,000 contacts shows "1,000+" instead of reading every contact on each view; a
    # window count over the rows themselves had read all 1,000 of them in full (7.6 ms of the
    # big company's deals panel).
    try:
        first_sql, first_params, any_sql, any_params = _first_visible(
            queryset, rule, shown=min(limit, COUNT_CAP)
        )
    except EmptyResultSet:  # a user who may see no row of this model
        first_sql = None
    objs = []
    if first_sql is not None:
        # ORM-compiled SQL with its parameters kept apart: nothing typed is pasted in.
        first_keys = RawSQL(first_sql, first_params)  # noqa: S611
        total = RawSQL(  # noqa: S611
            f"SELECT count(*) FROM ({any_sql}) AS first",  # noqa: S608
            any_params,
            IntegerField(),
        )
        shown = queryset.filter(pk__in=first_keys).only(*columns).annotate(panel_total=total)
        objs = list(shown[:limit])
    count = objs[0].panel_total if objs else 0
    url_of = _detail_urls(model)
    rows = []
    for obj in objs:
        panel_row = row(obj)
        panel_row.pk = obj.pk
        panel_row.url = url_of(obj.pk)
        rows.append(panel_row)
    return Panel(
        key=key,
        title=title,
        rows=rows,
        count=count,
        count_capped=count >= COUNT_CAP,
        more_url=_url(f"crm:{entity}.list", **more) if more else None,
        add_url=_url(f"crm:{entity}.create", **add) if add is not None else None,
    )


def _rows_rule(user: User, queryset: QuerySet, parent: Any) -> QuerySet | None:
    """The rows of the panel's model that `user` may see (visible_to), or None when the
    panel's rows need no check of their own: they follow `parent`, which the page has checked
    (a record's tasks and documents, permissions.visible_through), or the user sees every
    row (an admin)."""
    if parent is not None and permissions.visible_through(queryset.model, type(parent)):
        return None
    rule = permissions.visible_to(user, queryset.model)
    return rule if rule.query.has_filters() else None


def _first_visible(
    queryset: QuerySet, rule: QuerySet | None, *, shown: int
) -> tuple[str, list, str, list]:
    """The SQL and parameters of the keys (one column, `pk`) of the first `shown` rows of
    `queryset` that `rule` lets through, in the panel's order, and of up to COUNT_CAP such
    keys in any order, for the count. Raises EmptyResultSet when the user may see no row.

    Where visibility is checked row by row (`rule`: a company's contacts, not its tasks), the
    related rows are fenced (crm.fence), compiled once for both: read in the panel's order
    through their index and checked one by one until enough are visible. Left to itself
    PostgreSQL ANDed the company's 20,000 contacts with a bitmap of every contact the user may
    see (140,000 for a rep): 39 ms for the contacts panel of seed_scale's big company, fenced
    6 ms. The count reads the fenced rows in the panel's order too, which the panel's index
    gives as cheaply as any other order."""
    if rule is None:  # nothing to check per row
        first = queryset.values("pk")[:shown].query.sql_with_params()
        count = queryset.order_by().values("pk")[:COUNT_CAP].query.sql_with_params()
        return first[0], list(first[1]), count[0], list(count[1])
    query = queryset.query
    order = query.order_by or (queryset.model._meta.ordering if query.default_ordering else ())
    # One compilation for both: the keys in the panel's order, cut at two lengths (the count's
    # order costs nothing, see above). Compiled twice, it was ~0.5 ms of each panel.
    sql, params = Fence(queryset).around(rule.order_by(*order).values("pk"))
    return f"{sql} LIMIT {int(shown)}", params, f"{sql} LIMIT {COUNT_CAP}", list(params)


# The row builders fill everything but `url` and `pk`, which _panel sets; _COLUMNS says what
# each reads, so a panel fetches those columns and not the rows' custom fields or search text.
def _contact_row(c: crm.Contact) -> PanelRow:
    return PanelRow(str(c), None, meta=[m for m in (c.position, c.email) if m])


def _deal_row(d: crm.Deal) -> PanelRow:
    return PanelRow(
        str(d),
        None,
        d.status,
        d.get_status_display(),
        meta=[d.stage.name, money(d.amount, d.currency)],
    )


def _contract_row(c: crm.Contract) -> PanelRow:
    end = [f"ends {c.end_date:%Y-%m-%d}"] if c.end_date else []
    return PanelRow(
        str(c), None, c.status, c.get_status_display(), meta=[money(c.value, c.currency), *end]
    )


def _task_row(t: crm.Task) -> PanelRow:
    meta = [f"due {t.due_at:%Y-%m-%d}"] if t.due_at else []
    if t.assignee_id:
        meta.append(t.assignee.get_full_name())
    return PanelRow(str(t), None, t.status, t.get_status_display(), meta=meta)


def _document_row(d: crm.Document) -> PanelRow:
    return PanelRow(
        str(d), None, d.kind, d.get_kind_display(), meta=[d.mime_type] if d.mime_type else []
    )


def _lead_row(lead: crm.Lead) -> PanelRow:
    return PanelRow(
        str(lead),
        None,
        lead.status,
        lead.get_status_display(),
        meta=[m for m in (lead.company_name, lead.email) if m],
    )


def _company_row(c: crm.Company) -> PanelRow:
    return PanelRow(str(c), None)


_COLUMNS: dict[Callable[[Any], PanelRow], tuple[str, ...]] = {
    _contact_row: ("first_name", "last_name", "position", "email"),
    _deal_row: ("name", "status", "amount", "currency", "stage__name"),
    _contract_row: ("title", "status", "value", "currency", "end_date"),
    _task_row: ("title", "status", "due_at", "assignee__name", "assignee__email"),
    _document_row: ("name", "kind", "mime_type"),
    _lead_row: ("first_name", "last_name", "status", "company_name", "email"),
    _company_row: ("name",),
}


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
    # Deals it is the primary contact of, and deals it is linked to: one set of keys (a UNION)
    # rather than `id IN (<links>) OR primary_contact_id = ...`, with which PostgreSQL walked
    # the whole deal table in panel order to find the few rows (300 ms at 200k deals).
    linked = crm.Deal.contacts.through.objects.filter(contact_id=c.pk).values("deal_id")
    primary = crm.Deal.objects.filter(primary_contact=c).order_by().values("pk")
    return _deals(Q(pk__in=linked.union(primary, all=True)))


def _deal_contacts(d: crm.Deal) -> QuerySet:
    # Its linked contacts and its primary contact ("Remove" takes a contact off both), as one
    # set of keys for the reason _contact_deals gives (4 s at 1M contacts with the OR).
    keys = crm.Deal.contacts.through.objects.filter(deal_id=d.pk).values("contact_id")
    if d.primary_contact_id is not None:
        primary = crm.Contact.objects.filter(pk=d.primary_contact_id).order_by().values("pk")
        keys = keys.union(primary, all=True)
    return crm.Contact.objects.filter(pk__in=keys).order_by("last_name", "first_name")


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
        ("companies", "Companies", lambda d: d.companies.order_by("name"), _company_row, False),
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
            row.remove_url = record_url("crm:deal.contact_remove", record.pk, row.pk)
            if row.pk == record.primary_contact_id:
                row.badge, row.badge_label = "primary", "Primary"
        panel.form = DealContactForm(user=user, deal=record)
        panel.form_url = reverse("crm:deal.contact_add", args=[record.pk])
    elif key == "document" and panel.key in DOCUMENT_PANEL_ENTITIES:
        entity = DOCUMENT_PANEL_ENTITIES[panel.key]
        for row in panel.rows:
            row.remove_url = record_url("crm:document.unlink", record.pk, entity, row.pk)
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
        parent=record,
    )
    if can_add:
        _add_link_actions(user, record, panel)
    return panel


def related_panels(user: User, record: Any, *, can_add: bool) -> list[Panel]:
    """The related panels of a detail page, each through visible_to(user) (unless its rows
    follow the record), one query each. "Add" links, link forms and "Remove"
    buttons only when `can_add` (adding to a record changes it)."""
    specs = PANEL_SPECS[record._meta.model_name]
    return [_build_panel(user, record, spec, can_add=can_add) for spec in specs]


def related_panel(user: User, record: Any, panel_key: str, *, can_add: bool) -> Panel:
    """One panel of `related_panels`, by key: what an htmx link endpoint re-renders."""
    specs = PANEL_SPECS[record._meta.model_name]
    spec = next(spec for spec in specs if spec[0] == panel_key)
    return _build_panel(user, record, spec, can_add=can_add)
