"""The parent filters of each list: `?company=<uuid>`, `?deal=<uuid>` ... (RelatedRecordFilter).

Detail pages link their related panels' "All N" to these. Each filter names the index that
serves it: a foreign key's own index, or the link table's index on the parent's column (Django
indexes both columns of every many-to-many table; the other column is the row's primary key).
Kept apart from registry.py, which holds the visible filters and columns.
"""

from __future__ import annotations

from crm import models as m
from crm.lists.filters import RelatedRecordFilter


def _parent(name: str, model: type, *paths: str) -> RelatedRecordFilter:
    label = model._meta.verbose_name.capitalize()
    return RelatedRecordFilter(name=name, label=label, model=model, paths=paths or (name,))


PARENT_FILTERS: dict[str, tuple[RelatedRecordFilter, ...]] = {
    "contact": (
        _parent("company", m.Company),  # contact_company_idx
        # The deal's contacts (crm_deal_contacts.deal_id index) and its primary contact (the
        # deal, already loaded, names it: a primary key match).
        _parent("deal", m.Deal, "deals", "primary_deals"),
    ),
    "lead": (
        _parent("company", m.Company),  # lead_company_idx
    ),
    "deal": (
        _parent("company", m.Company),  # deal_company_idx
        # deal_contact_idx (primary_contact) OR crm_deal_contacts.contact_id index.
        _parent("contact", m.Contact, "primary_contact", "contacts"),
    ),
    "contract": (
        _parent("company", m.Company),  # contract_company_idx
        _parent("deal", m.Deal),  # contract_deal_idx
    ),
    "task": (
        # task_<parent>_idx, each (parent, status): the parent is the leading column.
        _parent("company", m.Company),
        _parent("contact", m.Contact),
        _parent("lead", m.Lead),
        _parent("deal", m.Deal),
    ),
    "document": (
        # crm_document_<links>.<parent>_id index of each link table.
        _parent("company", m.Company, "companies"),
        _parent("contact", m.Contact, "contacts"),
        _parent("lead", m.Lead, "leads"),
        _parent("deal", m.Deal, "deals"),
        _parent("contract", m.Contract, "contracts"),
        _parent("task", m.Task, "tasks"),
    ),
}
