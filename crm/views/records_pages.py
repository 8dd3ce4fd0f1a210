"""What the create / edit / delete / inline-edit views need to know about each entity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model

from crm.forms.records import RecordForm
from crm.forms.records_deals import ContractForm, DealForm
from crm.forms.records_parties import CompanyForm, ContactForm, LeadForm
from crm.forms.records_work import DocumentForm, TaskForm
from crm.models import Company, Contact, Deal, Lead
from crm.services import records as services


@dataclass(frozen=True)
class RecordPages:
    key: str
    form: type[RecordForm]
    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., None]
    # Query parameter -> (model, "view" | "edit"): the create page's prefilled initial values.
    prefill: dict[str, tuple[type[Model], str]] = field(default_factory=dict)
    # Query parameter -> form field, where they differ (`?contact=` is a deal's primary contact:
    # the parameter is the one every list and "Add" link uses for a contact).
    prefill_fields: dict[str, str] = field(default_factory=dict)
    # Query parameter -> m2m name: records the new one is linked to (documents).
    links: dict[str, str] = field(default_factory=dict)
    # Fields editable in place on the detail page; custom fields (cf_<key>) always are.
    inline: frozenset[str] = frozenset()
    # Said on the delete confirmation page.
    deletes_with: str = ""


_PARENTS = {"company": Company, "contact": Contact, "lead": Lead, "deal": Deal}

PAGES: dict[str, RecordPages] = {
    "company": RecordPages(
        key="company",
        form=CompanyForm,
        create=services.company_create,
        update=services.company_update,
        delete=services.company_delete,
        inline=frozenset(
            {"name", "type", "status", "website", "domain", "email", "phone", "industry",
             "annual_revenue", "employee_count", "description", "tags", "billing_city",
             "billing_country", "vat_number", "shared_with_team"}
        ),
        deletes_with="Its tasks and notes are deleted too; its contacts, leads and deals stay.",
    ),
    "contact": RecordPages(
        key="contact",
        form=ContactForm,
        create=services.contact_create,
        update=services.contact_update,
        delete=services.contact_delete,
        prefill={"company": (Company, "view")},
        inline=frozenset(
            {"first_name", "last_name", "position", "email", "phone", "mobile_phone", "type",
             "is_active", "birthday", "company", "city", "country", "description", "tags",
             "shared_with_team"}
        ),
        deletes_with="Its tasks and notes are deleted too.",
    ),
    "lead": RecordPages(
        key="lead",
        form=LeadForm,
        create=services.lead_create,
        update=services.lead_update,
        delete=services.lead_delete,
        prefill={"company": (Company, "view")},
        inline=frozenset(
            {"first_name", "last_name", "company_name", "job_title", "email", "phone", "status",
             "source", "campaign", "description", "tags", "shared_with_team"}
        ),
        deletes_with="Its tasks and notes are deleted too.",
    ),
    "deal": RecordPages(
        key="deal",
        form=DealForm,
        create=services.deal_create,
        update=services.deal_update,
        delete=services.deal_delete,
        prefill={"company": (Company, "view"), "contact": (Contact, "view")},
        prefill_fields={"contact": "primary_contact"},
        inline=frozenset(
            {"name", "company", "primary_contact", "stage", "amount", "currency",
             "expected_close_date", "type", "campaign", "next_step", "description", "tags",
             "shared_with_team"}
        ),
        deletes_with="Its tasks and notes are deleted too.",
    ),
    "contract": RecordPages(
        key="contract",
        form=ContractForm,
        create=services.contract_create,
        update=services.contract_update,
        delete=services.contract_delete,
        prefill={"company": (Company, "view"), "deal": (Deal, "view")},
        inline=frozenset(
            {"title", "type", "status", "value", "currency", "start_date", "end_date",
             "renewal_reminder_date", "customer_signed_date", "company_signed_date",
             "description", "shared_with_team"}
        ),
    ),
    "task": RecordPages(
        key="task",
        form=TaskForm,
        create=services.task_create,
        update=services.task_update,
        delete=services.task_delete,
        # Adding a task to a record is a change to it.
        prefill={name: (model, "edit") for name, model in _PARENTS.items()},
        inline=frozenset(
            {"title", "status", "priority", "due_at", "assignee", "body", "tags",
             "shared_with_team"}
        ),
    ),
    "document": RecordPages(
        key="document",
        form=DocumentForm,
        create=services.document_create,
        update=services.document_update,
        delete=services.document_delete,
        links={
            "company": "companies",
            "contact": "contacts",
            "lead": "leads",
            "deal": "deals",
            "contract": "contracts",
            "task": "tasks",
        },
        inline=frozenset({"name", "kind", "document_type", "description", "tags",
                          "shared_with_team"}),
        deletes_with="Its stored file is deleted too.",
    ),
}  # fmt: skip
