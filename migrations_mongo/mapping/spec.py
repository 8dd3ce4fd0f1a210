"""The shape of a collection's mapping, and where references and links land."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrations_mongo.document import Doc
    from migrations_mongo.sources import Source

# A reference kind -> the table whose legacy_id (or an Alias) resolves it.
KIND_TABLES: dict[str, str] = {
    "user": "accounts_user",
    "industry": "crm_industry",
    "dealtype": "crm_dealtype",
    "campaign": "crm_campaign",
    "doctype": "crm_documenttype",
    "stage": "crm_stage",
    "company": "crm_company",
    "contact": "crm_contact",
    "lead": "crm_lead",
    "deal": "crm_deal",
    "contract": "crm_contract",
    "board": "crm_board",
    "section": "crm_section",
    "task": "crm_task",
    "document": "crm_document",
    "invoice": "crm_invoice",
}


@dataclass(frozen=True)
class Link:
    """A many-to-many link table: (left column, left kind) is the model that declares the field."""

    table: str
    left_column: str
    left_kind: str
    right_column: str
    right_kind: str


LINKS: dict[str, Link] = {
    "company_watchers": Link("crm_company_watchers", "company_id", "company", "user_id", "user"),
    "board_watchers": Link("crm_board_watchers", "board_id", "board", "user_id", "user"),
    "board_shared_with": Link("crm_board_shared_with", "board_id", "board", "user_id", "user"),
    "deal_contacts": Link("crm_deal_contacts", "deal_id", "deal", "contact_id", "contact"),
    **{
        f"document_{plural}": Link(
            f"crm_document_{plural}", "document_id", "document", f"{kind}_id", kind
        )
        for kind, plural in [
            ("company", "companies"),
            ("contact", "contacts"),
            ("lead", "leads"),
            ("deal", "deals"),
            ("task", "tasks"),
            ("invoice", "invoices"),
        ]
    },
}


@dataclass(frozen=True)
class Spec:
    """How one source collection is imported.

    `table` and `convert` make rows; `refs` names the fields holding references (field ->
    kind), read for the whole batch before any document is converted so that references are
    resolved with one query per kind, not one per document. A spec with a `skip_reason` imports
    nothing; with `keep_whole` its documents are kept verbatim in the leftovers."""

    collection: str
    table: str = ""
    convert: Callable[[Doc], dict[str, Any]] | None = None
    refs: Mapping[str, str] = field(default_factory=dict)
    # Reads what the conversion needs from other collections or the database, once per run.
    prepare: Callable[[Source], dict[str, Any]] | None = None
    # Columns an existing row keeps when the document is imported again (a user's password
    # may have been rehashed at sign-in since).
    insert_only: tuple[str, ...] = ()
    # Match on this column (lower-cased) before inserting: an existing row with the same value
    # is this document's row (adopted, or aliased if it came from another document).
    adopt_on: str = ""
    adopt_scope: str = ""
    skip_reason: str = ""
    keep_whole: bool = False
    # Extra tables rows come with (a contact's notes): table -> its conflict column.
    extra_tables: tuple[str, ...] = ()
