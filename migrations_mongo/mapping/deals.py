"""Opportunities (deals), contracts, documents and invoices."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from migrations_mongo import convert
from migrations_mongo.document import Doc, Skip
from migrations_mongo.sources import Source

from .common import campaign_named, campaigns_by_name, choice, record, required_text, tags
from .people import PIPELINE_ID
from .spec import Spec

CONTRACT_STATUSES = {
    "notstarted": "not_started",
    "new": "not_started",
    "draft": "not_started",
    "inprogress": "in_progress",
    "active": "in_progress",
    "signed": "signed",
}
DOCUMENT_KINDS = {k: k for k in ("invoice", "receipt", "contract", "offer", "other")}
INVOICE_STATUSES = {
    "draft": "draft",
    "new": "new",
    "sent": "sent",
    "paid": "paid",
    "overdue": "overdue",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "unpaid": "sent",
    "open": "sent",
}


def _money(doc: Doc, names: tuple[str, ...]) -> Any:
    return doc.get(names, convert.decimal)


def _currency(doc: Doc, *names: str) -> str:
    return doc.get(names, convert.currency, default=settings.DEFAULT_CURRENCY)


def deal_context(source: Source) -> dict[str, Any]:
    from crm.models import Stage

    stages = list(Stage.objects.filter(pipeline_id=PIPELINE_ID).order_by("position"))
    return {
        "stages": {s.id: s for s in stages},
        "first_stage": stages[0].id if stages else None,
        **campaigns_by_name(source),
    }


def deal(doc: Doc) -> dict[str, Any]:
    row = record(doc, created=("createdAt", "created_on"))
    stage_id = doc.ref("sales_stage", "stage")
    if stage_id is None:
        stage_id = doc.context["first_stage"]
        if stage_id is None:
            raise Skip("no sales stage to place the deal in", field="sales_stage")
        doc.warn("sales_stage", "missing or dangling; the deal is put in the first stage")
    stage = doc.context["stages"][stage_id]
    # NextCRM's status says open or closed, its stage how far; minicrm's status follows the
    # stage where the stage is won or lost, and a CLOSED deal elsewhere is lost.
    closed = (
        doc.get(
            "status",
            convert.choice,
            {"active": "open", "inactive": "open", "pending": "open", "closed": "closed"},
            default="open",
        )
        == "closed"
    )
    status = "won" if stage.is_won else "lost" if stage.is_lost or closed else "open"
    # Before 2023-09 these were strings (Q1); expected revenue is the deal's amount, the
    # budget stands in when it is missing and is kept in the leftovers either way.
    amount = doc.get("expected_revenue", convert.decimal)
    budget = doc.take("budget")
    if budget is not None:
        doc.kept["budget"] = budget  # no column of its own
        if not amount:
            try:
                amount = convert.decimal(budget)
            except convert.Unconvertible:
                doc.warn("budget", "not a number; kept in the leftovers", budget)
    close_date = doc.get("close_date", convert.date)
    row.update(
        {
            "name": required_text(doc, ("name",), 255, "(unnamed deal)"),
            "company_id": doc.ref("account", "company"),
            "primary_contact_id": doc.ref("contact", "contact"),
            "pipeline_id": PIPELINE_ID,
            "stage_id": stage_id,
            "amount": amount or 0,
            "currency": _currency(doc, "currency"),
            "expected_close_date": close_date,
            "status": status,
            "closed_at": (row["updated_at"] if status != "open" else None),
            "type_id": doc.ref("type", "dealtype"),
            "campaign_id": _campaign(doc),
            "next_step": doc.text("next_step", max_length=255),
            "description": doc.text("description"),
            "tags": [],
        }
    )
    doc.link("connected_contacts", "deal_contacts", owner_side=True)
    doc.link("connected_documents", "document_deals", owner_side=False)
    return row


def _campaign(doc: Doc) -> Any:
    raw = doc.raw.get("campaign")
    if isinstance(raw, str) and not convert.ObjectId.is_valid(raw):
        return campaign_named(doc)  # a plain name before 2023-07-22 (Q1)
    return doc.ref("campaign", "campaign")


def contract(doc: Doc) -> dict[str, Any]:
    row = record(doc)
    start = doc.get("startDate", convert.date)
    end = doc.get("endDate", convert.date)
    if start and end and end < start:
        doc.lossy("endDate", doc.raw["endDate"], "ends before it starts")
        end = None
    row.update(
        {
            "title": required_text(doc, ("title",), 255, "(untitled contract)"),
            "company_id": doc.ref("account", "company"),
            "deal_id": None,
            "type": doc.text("type", max_length=100),
            "value": _money(doc, ("value",)) or 0,
            "currency": _currency(doc, "currency"),
            "status": choice(doc, "status", CONTRACT_STATUSES, "not_started"),
            "start_date": start,
            "end_date": end,
            "renewal_reminder_date": doc.get("renewalReminderDate", convert.date),
            "customer_signed_date": doc.get("customerSignedDate", convert.date),
            "company_signed_date": doc.get("companySignedDate", convert.date),
            "description": doc.text("description"),
        }
    )
    return row


def document(doc: Doc) -> dict[str, Any]:
    url = doc.get("document_file_url", convert.url, 1000, default="")
    if not url:
        # A document is a file or a link (document_file_or_url); the file itself was never in
        # MongoDB (Q13), so without its URL there is nothing to point at.
        raise Skip("no document_file_url: nothing to link to", field="document_file_url")
    row = record(
        doc,
        owner=("assigned_user", "createdBy", "created_by_user"),
        created=("createdAt", "date_created"),
        updated=("updatedAt", "last_updated"),
    )
    row.update(
        {
            "name": required_text(doc, ("document_name",), 255, url.rsplit("/", 1)[-1][:255]),
            "file": "",
            "url": url,
            # Guessed by NextCRM's upload code (Q13): kept as a hint, never trusted for serving.
            "mime_type": doc.text("document_file_mimeType", max_length=255),
            "size": doc.get("size", convert.integer, maximum=2**62),
            "kind": choice(doc, "document_system_type", DOCUMENT_KINDS, "other"),
            "document_type_id": doc.ref("document_type", "doctype"),
            "description": doc.text("description"),
            "tags": tags(doc, "tags"),
        }
    )
    for field, link in (
        ("accountsIDs", "document_companies"),
        ("contactsIDs", "document_contacts"),
        ("leadsIDs", "document_leads"),
        ("opportunityIDs", "document_deals"),
        ("tasksIDs", "document_tasks"),
        ("crm_accounts_tasksIDs", "document_tasks"),
        ("invoiceIDs", "document_invoices"),
    ):
        doc.link(field, link, owner_side=True)
    return row


def invoice_context(source: Source) -> dict[str, Any]:
    states = {str(raw["_id"]): raw.get("name") for raw in source.documents("invoice_States")}
    return {"states": states}


def invoice(doc: Doc) -> dict[str, Any]:
    row = record(
        doc, owner=("assigned_user_id",), created=("date_created",), updated=("last_updated",)
    )
    status = choice(doc, "status", INVOICE_STATUSES, "")
    state_id = doc.raw.get("invoice_state_id")
    state = doc.context["states"].get(str(state_id))
    if state_id is not None and state is None:
        # The id stays in the leftovers (the field has no column of its own).
        doc.warn("invoice_state_id", "points at an invoice state that is not in the source")
    if not status and state:
        status = choice_value(state)
    partner = {}
    for name in sorted(doc.raw):
        if name.startswith("partner"):
            value = doc.take(name)
            if value is not None:
                partner[name] = value if isinstance(value, (str, bool, int, float)) else str(value)
    items = doc.take("invoice_items")
    if items is not None and not isinstance(items, list):
        doc.lossy("invoice_items", items, "not a list of line items")
        items = None
    row.update(
        {
            "number": doc.text("invoice_number", max_length=64),
            "company_id": doc.ref("assigned_account_id", "company"),
            "status": status or "new",
            "issue_date": doc.get(("date_of_case", "date_tax", "date_received"), convert.date),
            "due_date": doc.get("date_due", convert.date),
            "amount": _money(doc, ("invoice_amount",)) or 0,
            "currency": _currency(doc, "invoice_currency", "inovice_currency"),
            "line_items": _json(items or []),
            "partner": partner,
            "file_url": doc.get("invoice_file_url", convert.url, 1000, default=""),
            "description": doc.text("description"),
        }
    )
    doc.link("connected_documents", "document_invoices", owner_side=False)
    return row


def choice_value(state: Any) -> str:
    try:
        return convert.choice(state, INVOICE_STATUSES) or ""
    except convert.Unconvertible:
        return ""


def _json(value: Any) -> Any:
    from migrations_mongo.document import to_json

    return to_json(value)


SPECS = [
    Spec(
        "crm_Opportunities",
        "crm_deal",
        deal,
        prepare=deal_context,
        refs={
            "assigned_to": "user",
            "sales_stage": "stage",
            "account": "company",
            "contact": "contact",
            "type": "dealtype",
            "campaign": "campaign",
        },
    ),
    Spec(
        "crm_Contracts",
        "crm_contract",
        contract,
        refs={"assigned_to": "user", "account": "company"},
    ),
    Spec(
        "Documents",
        "crm_document",
        document,
        refs={
            "assigned_user": "user",
            "createdBy": "user",
            "created_by_user": "user",
            "document_type": "doctype",
        },
    ),
    Spec(
        "Invoices",
        "crm_invoice",
        invoice,
        prepare=invoice_context,
        refs={"assigned_user_id": "user", "assigned_account_id": "company"},
    ),
]
