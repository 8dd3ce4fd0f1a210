"""The rows of the related panels (crm.selectors.panels): what each panel's row shows of a
related record, and the columns it reads to show it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model

from crm import models as crm
from crm.selectors.detail import PanelRow
from crm.templatetags.crm_ui import money


# The row builders fill everything but `url` and `pk`, which the panel sets; COLUMNS says what
# each reads, so a panel fetches those columns and not the rows' custom fields or search text.
def contact_row(c: crm.Contact) -> PanelRow:
    return PanelRow(str(c), None, meta=[m for m in (c.position, c.email) if m])


def deal_row(d: crm.Deal) -> PanelRow:
    return PanelRow(
        str(d),
        None,
        d.status,
        d.get_status_display(),
        meta=[d.stage.name, money(d.amount, d.currency)],
    )


def contract_row(c: crm.Contract) -> PanelRow:
    end = [f"ends {c.end_date:%Y-%m-%d}"] if c.end_date else []
    return PanelRow(
        str(c), None, c.status, c.get_status_display(), meta=[money(c.value, c.currency), *end]
    )


def task_row(t: crm.Task) -> PanelRow:
    meta = [f"due {t.due_at:%Y-%m-%d}"] if t.due_at else []
    if t.assignee_id:
        meta.append(t.assignee.get_full_name())
    return PanelRow(str(t), None, t.status, t.get_status_display(), meta=meta)


def document_row(d: crm.Document) -> PanelRow:
    return PanelRow(
        str(d), None, d.kind, d.get_kind_display(), meta=[d.mime_type] if d.mime_type else []
    )


def lead_row(lead: crm.Lead) -> PanelRow:
    return PanelRow(
        str(lead),
        None,
        lead.status,
        lead.get_status_display(),
        meta=[m for m in (lead.company_name, lead.email) if m],
    )


def company_row(c: crm.Company) -> PanelRow:
    return PanelRow(str(c), None)


COLUMNS: dict[Callable[[Any], PanelRow], tuple[str, ...]] = {
    contact_row: ("first_name", "last_name", "position", "email"),
    deal_row: ("name", "status", "amount", "currency", "stage__name"),
    contract_row: ("title", "status", "value", "currency", "end_date"),
    task_row: ("title", "status", "due_at", "assignee__name", "assignee__email"),
    document_row: ("name", "kind", "mime_type"),
    lead_row: ("first_name", "last_name", "status", "company_name", "email"),
    company_row: ("name",),
}
# The model each row builder shows (a panel's list and create links name it).
MODELS: dict[Callable[[Any], PanelRow], type[Model]] = {
    contact_row: crm.Contact,
    deal_row: crm.Deal,
    contract_row: crm.Contract,
    task_row: crm.Task,
    document_row: crm.Document,
    lead_row: crm.Lead,
    company_row: crm.Company,
}
