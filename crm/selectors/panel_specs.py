"""What each kind of record's detail page lists in its related panels (crm.selectors.panels
builds and reads them): per panel its key, title, the record's related rows in panel order,
the row builder and whether it offers an "add" link, and what the rows are chosen by."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import F, Q, QuerySet

from crm import models as crm
from crm.selectors import panel_rows as rows_of
from crm.selectors.detail import PanelRow


def _document_links(record: Any) -> QuerySet:
    """The record's links to documents, one per document (the link table's pair is unique and
    its foreign keys hold): what its documents panel counts. Counting the documents joined
    each link to its document, a primary key probe per link: 3.5 ms for seed_scale's big
    company's 1,000; its links alone come from the link table's index on the record."""
    manager = record.documents
    column = manager.source_field_name
    return manager.through.objects.filter(**{column: record.pk}).values(column)


# Panels that count other rows than they show (_panel's `counted`), by panel key.
COUNTED_BY: dict[str, Callable[[Any], QuerySet]] = {"documents": _document_links}


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
Spec = tuple[str, str, Callable[[Any], QuerySet], Callable[[Any], PanelRow], bool]
_CONTACTS: Spec = (
    "contacts",
    "Contacts",
    lambda r: r.contacts.order_by("last_name", "first_name"),
    rows_of.contact_row,
    True,
)
_CONTRACTS: Spec = (
    "contracts",
    "Contracts",
    lambda r: r.contracts.order_by("-start_date"),
    rows_of.contract_row,
    True,
)
_DOCUMENTS: Spec = (
    "documents",
    "Documents",
    lambda r: r.documents.order_by("-created_at"),
    rows_of.document_row,
    True,
)


def _tasks_spec(parent: str) -> Spec:
    # Tasks are added inline from the timeline form, so the panel has no "add" link.
    return ("tasks", "Tasks", lambda r: _tasks(**{parent: r}), rows_of.task_row, False)


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


# The record's foreign keys a panel's rows read, beyond its key (see _build_panel: the rows of a
# panel must depend on no other field of the record).
READS: dict[Callable[[Any], QuerySet], tuple[str, ...]] = {_deal_contacts: ("primary_contact_id",)}


PANEL_SPECS: dict[str, list[Spec]] = {
    "company": [
        _CONTACTS,
        ("deals", "Deals", lambda c: _deals(Q(company=c)), rows_of.deal_row, True),
        _CONTRACTS,
        _tasks_spec("company"),
        _DOCUMENTS,
        ("leads", "Leads", lambda c: c.leads.order_by("-created_at"), rows_of.lead_row, True),
    ],
    "contact": [
        ("deals", "Deals", _contact_deals, rows_of.deal_row, True),
        _tasks_spec("contact"),
        _DOCUMENTS,
    ],
    "lead": [_tasks_spec("lead"), _DOCUMENTS],
    "deal": [
        ("contacts", "Contacts", _deal_contacts, rows_of.contact_row, False),
        _DOCUMENTS,
        _CONTRACTS,
        _tasks_spec("deal"),
    ],
    "contract": [_DOCUMENTS],
    "task": [_DOCUMENTS],
    # A document's linked records (invoices have no page). Their lists take no ?document=.
    "document": [
        (
            "companies",
            "Companies",
            lambda d: d.companies.order_by("name"),
            rows_of.company_row,
            False,
        ),
        (
            "contacts",
            "Contacts",
            lambda d: d.contacts.order_by("last_name"),
            rows_of.contact_row,
            False,
        ),
        ("leads", "Leads", lambda d: d.leads.order_by("last_name"), rows_of.lead_row, False),
        ("deals", "Deals", lambda d: _deals(Q(documents=d)), rows_of.deal_row, False),
        (
            "contracts",
            "Contracts",
            lambda d: d.contracts.order_by("title"),
            rows_of.contract_row,
            False,
        ),
        ("tasks", "Tasks", lambda d: _tasks(documents=d), rows_of.task_row, False),
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
