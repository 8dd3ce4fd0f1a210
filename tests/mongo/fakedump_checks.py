"""What tests/mongo/test_fakedump.py checks the fake NextCRM dump against: the collections and
links of the schema doc, written out independently of the generator, and one check per quirk
name the manifest may hold (a quirk with no check here fails the test)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import bson
from bson import ObjectId
from bson.codec_options import CodecOptions

from migrations_mongo.fakedump import PASSWORD

CODEC = CodecOptions(tz_aware=True)

# The 29 models of the schema doc (§1.2, §5), written out here rather than imported, so that the
# generator cannot drop one unnoticed; plus the old misspelled collection.
SCHEMA_COLLECTIONS = {
    *("crm_Accounts", "crm_Contacts", "crm_Leads", "crm_Opportunities", "crm_Contracts"),
    *("crm_Accounts_Tasks", "Documents", "Invoices", "Users", "Boards", "Sections", "Tasks"),
    *("tasksComments", "crm_Industry_Type", "crm_Opportunities_Sales_Stages"),
    *("crm_Opportunities_Type", "crm_campaigns", "Documents_Types", "invoice_States"),
    *("MyAccount", "Employees", "system_Modules_Enabled", "modulStatus", "systemServices"),
    *("gpt_models", "openAi_keys", "secondBrain_notions", "TodoList", "ImageUpload"),
}
ALL_COLLECTIONS = SCHEMA_COLLECTIONS | {"crm_campains"}
NO_VERSION = {"invoice_States", "modulStatus", "TodoList", "ImageUpload"}  # no `__v` (§3)

# §4.2: link -> (side A collection, its array, side B collection, its array).
LINKS = {
    "accounts_documents": ("crm_Accounts", "documentsIDs", "Documents", "accountsIDs"),
    "leads_documents": ("crm_Leads", "documentsIDs", "Documents", "leadsIDs"),
    "contacts_documents": ("crm_Contacts", "documentsIDs", "Documents", "contactsIDs"),
    "opportunities_documents": (
        *("crm_Opportunities", "connected_documents", "Documents", "opportunityIDs"),
    ),
    "invoices_documents": ("Invoices", "connected_documents", "Documents", "invoiceIDs"),
    "tasks_documents": ("Tasks", "documentIDs", "Documents", "tasksIDs"),
    "crm_tasks_documents": ("crm_Accounts_Tasks", "", "Documents", "crm_accounts_tasksIDs"),
    "contacts_opportunities": (
        *("crm_Contacts", "opportunitiesIDs", "crm_Opportunities", "connected_contacts"),
    ),
    "account_watchers": ("crm_Accounts", "watchers", "Users", "watching_accountsIDs"),
    "board_watchers": ("Boards", "watchers", "Users", "watching_boardsIDs"),
}
MODES = ("only_a", "only_b", "disagree", "both_sides", "dangling")


def read(directory: Path, name: str) -> list[dict[str, Any]]:
    plain = directory / f"{name}.bson"
    with open(plain, "rb") if plain.exists() else gzip.open(f"{plain}.gz", "rb") as f:
        return list(bson.decode_file_iter(f, CODEC))


@dataclass
class Dump:
    directory: Path
    manifest: dict[str, Any]
    docs: dict[str, list[dict[str, Any]]]
    by_id: dict[ObjectId, tuple[str, dict[str, Any]]]

    def doc(self, hex_id: str) -> dict[str, Any]:
        return self.by_id[ObjectId(hex_id)][1]

    def collection_of(self, oid: Any) -> str | None:
        hit = self.by_id.get(oid)
        return hit[0] if hit else None


def link_pairs(dump: Dump, link: str) -> tuple[set[tuple[Any, Any]], set[tuple[Any, Any]]]:
    """(A, B) pairs as side A's arrays store them, and as side B's do (resolving ids only)."""
    a_name, a_field, b_name, b_field = LINKS[link]
    from_a = {
        (d["_id"], x)
        for d in dump.docs[a_name]
        if a_field and isinstance(d.get(a_field), list)
        for x in d[a_field]
        if dump.collection_of(x) == b_name
    }
    from_b = {
        (x, d["_id"])
        for d in dump.docs[b_name]
        for x in d[b_field]
        if dump.collection_of(x) == a_name
    }
    return from_a, from_b


Check = Callable[[dict[str, Any], Dump], bool]


def has(*fields: str) -> Check:
    return lambda d, _: all(f in d for f in fields)


def lacks(*fields: str) -> Check:
    return lambda d, _: not any(f in d for f in fields)


def dangles(field: str) -> Check:
    return lambda d, dump: isinstance(d[field], ObjectId) and d[field] not in dump.by_id


def odd(field: str, *normal: str) -> Check:
    return lambda d, _: isinstance(d[field], str) and d[field] not in normal


def differ(a: str, b: str) -> Check:
    return lambda d, _: a in d and b in d and d[a] != d[b]


def is_a(field: str, kind: type) -> Check:
    return lambda d, _: isinstance(d.get(field), kind) and bool(d[field])


def unparseable(field: str) -> Check:
    def check(d: dict[str, Any], _: Dump) -> bool:
        try:
            float(d[field])
        except ValueError:
            return True
        return False

    return check


def bcrypt_ok(prefix: str) -> Check:
    return lambda d, _: (
        d["password"].startswith(prefix)
        and bcrypt.checkpw(PASSWORD.encode(), d["password"].encode())
    )


def same_count(field: str, collection: str, n: int) -> Check:
    def check(d: dict[str, Any], dump: Dump) -> bool:
        key = d[field].lower()
        return sum(o.get(field, "").lower() == key for o in dump.docs[collection]) == n

    return check


def comment_on_crm_task(assigned: bool) -> Check:
    def check(d: dict[str, Any], dump: Dump) -> bool:
        on_crm = dump.collection_of(d["task"]) == "crm_Accounts_Tasks"
        return on_crm and (d.get("assigned_crm_account_task") == d["task"]) is assigned

    return check


UNICODE = {("Zoë", "Ångström"), ("Łukasz", "Żółć"), ("太郎", "山田")}
CHECKS: dict[str, Check] = {
    "crm_Accounts.createdAt_missing": lacks("createdAt"),
    "crm_Accounts.legacy_fields": has(
        "connected_contacts", "created_by", "date_created", "date_last_modified"
    ),
    "crm_Accounts.status_free_string": odd("status", "Active", "Inactive"),
    "crm_Accounts.type_free_string": odd("type", "Customer", "Partner", "Vendor"),
    "crm_Accounts.numbers_as_text": lambda d, _: (
        (d["annual_revenue"], d["employees"]) == ("1,200,000", "50-100")
    ),
    "crm_Accounts.dangling_assigned_to": dangles("assigned_to"),
    "crm_Accounts.dangling_industry": dangles("industry"),
    "crm_Accounts.dangling_createdBy": dangles("createdBy"),
    "crm_Accounts.unicode_name": lambda d, _: not d["name"].isascii(),
    "crm_Accounts.email_invalid": lambda d, _: d["email"] == "not-an-email",
    "crm_Contacts.status_as_string": lambda d, _: d["status"] in ("Active", "Inactive"),
    "crm_Contacts.accountsIDs_as_array": is_a("accountsIDs", list),
    "crm_Contacts.legacy_account_only": lambda d, dump: (
        "accountsIDs" not in d and dump.collection_of(d["account"]) == "crm_Accounts"
    ),
    "crm_Contacts.legacy_account_and_accountsIDs": lambda d, dump: (
        d["account"] != d["accountsIDs"]
        and dump.collection_of(d["account"])
        == dump.collection_of(d["accountsIDs"])
        == "crm_Accounts"
    ),
    "crm_Contacts.creator_only_created_by": lambda d, _: (
        "createdBy" not in d and "created_by" in d
    ),
    "crm_Contacts.creator_fields_disagree": differ("created_by", "createdBy"),
    "crm_Contacts.cratedAt_missing": lambda d, _: "cratedAt" not in d and "created_on" in d,
    "crm_Contacts.created_on_vs_cratedAt_disagree": differ("created_on", "cratedAt"),
    "crm_Contacts.birthday_day_month_year": lambda d, _: d["birthday"] == "7/3/1985",
    "crm_Contacts.birthday_unparseable": lambda d, _: d["birthday"] == "sometime in May",
    "crm_Contacts.email_invalid": lambda d, _: d["email"] == "not-an-email",
    "crm_Contacts.first_name_too_long": lambda d, _: len(d["first_name"]) == 300,
    "crm_Contacts.unicode_name": lambda d, _: (d["first_name"], d["last_name"]) in UNICODE,
    "crm_Contacts.emoji_description": lambda d, _: "🚀" in d["description"],
    "crm_Contacts.notes": is_a("notes", list),
    "crm_Contacts.type_free_string": odd("type", "Customer", "Partner", "Vendor", "Prospect"),
    "crm_Contacts.dangling_accountsIDs": dangles("accountsIDs"),
    "crm_Contacts.dangling_assigned_to": dangles("assigned_to"),
    "crm_Contacts.dangling_legacy_account": dangles("account"),
    "crm_Contacts.tags": lambda d, _: (
        bool(d["tags"]) and all(isinstance(t, str) for t in d["tags"])
    ),
    "crm_Leads.lastName_missing": lacks("lastName"),
    "crm_Leads.legacy_fields": has("date_created", "date_modify", "last_activity_by"),
    "crm_Leads.status_free_string": odd("status", "NEW", "IN_PROGRESS", "COMPLETED"),
    "crm_Leads.createdAt_missing": lacks("createdAt"),
    "crm_Leads.dangling_accountsIDs": dangles("accountsIDs"),
    "crm_Leads.dangling_assigned_to": dangles("assigned_to"),
    "crm_Leads.unicode_name": lambda d, _: (d["firstName"], d["lastName"]) in UNICODE,
    "crm_Leads.type_free_string": odd("type", "DEMO"),
    "crm_Opportunities.money_as_string": lambda d, _: all(
        isinstance(d[f], str) and float(d[f].replace(",", "").replace(" ", "")) > 0
        for f in ("budget", "expected_revenue")
    ),
    "crm_Opportunities.money_unparseable": unparseable("budget"),
    "crm_Opportunities.createdAt_missing": lacks("createdAt"),
    "crm_Opportunities.status_free_string": odd(
        "status", "ACTIVE", "INACTIVE", "PENDING", "CLOSED"
    ),
    "crm_Opportunities.campaign_as_plain_string": is_a("campaign", str),
    "crm_Opportunities.sales_stage_missing": lacks("sales_stage"),
    "crm_Opportunities.creator_only_created_by": lambda d, _: "createdBy" not in d,
    "crm_Opportunities.creator_fields_disagree": differ("created_by", "createdBy"),
    "crm_Opportunities.created_on_vs_createdAt_disagree": differ("created_on", "createdAt"),
    "crm_Opportunities.currency_free_text": odd("currency", "USD", "EUR", "CZK"),
    "crm_Opportunities.dangling_account": dangles("account"),
    "crm_Opportunities.dangling_contact": dangles("contact"),
    "crm_Opportunities.dangling_sales_stage": dangles("sales_stage"),
    "crm_Opportunities.dangling_assigned_to": dangles("assigned_to"),
    "crm_Opportunities.emoji_description": lambda d, _: "🚀" in d["description"],
    "crm_Contracts.status_lowercase_string": lambda d, _: d["status"] == d["status"].lower(),
    "crm_Contracts.dangling_account": dangles("account"),
    "crm_Contracts.createdAt_missing": lacks("createdAt"),
    "Documents.name_url_mime_missing": lacks(
        "document_name", "document_file_url", "document_file_mimeType"
    ),
    "Documents.legacy_account": lambda d, dump: dump.collection_of(d["account"]) == "crm_Accounts",
    "Documents.tags_json_object": is_a("tags", dict),
    "Documents.tags_json_list": is_a("tags", list),
    "Documents.connected_documents_json": lambda d, _: isinstance(
        d["connected_documents"][0], dict
    ),
    "Documents.creator_fields_disagree": differ("created_by_user", "createdBy"),
    "Documents.date_created_vs_createdAt_disagree": differ("date_created", "createdAt"),
    "Documents.last_updated_vs_updatedAt_disagree": differ("last_updated", "updatedAt"),
    "Documents.status_free_string": odd("status", "ACTIVE"),
    "Documents.dangling_document_type": dangles("document_type"),
    "Documents.dangling_assigned_user": dangles("assigned_user"),
    "Documents.mime_type_guessed": lambda d, _: d["document_file_mimeType"] == "application/docs",
    "Invoices.visibility_as_string": is_a("visibility", str),
    "Invoices.legacy_fields": has(
        "account", "user", "invoice_state", "inovice_currency", "partner_address"
    ),
    "Invoices.invoice_amount_text": unparseable("invoice_amount"),
    "Invoices.invoice_items_json": lambda d, _: all(
        isinstance(i, dict) for i in d["invoice_items"]
    ),
    "Invoices.connected_documents_json": is_a("connected_documents", dict),
    "Invoices.status_free_string": odd("status", "new"),
    "Invoices.currency_free_text": odd("invoice_currency", "USD", "EUR", "CZK"),
    "Invoices.dangling_assigned_account": dangles("assigned_account_id"),
    "Invoices.dangling_invoice_state": dangles("invoice_state_id"),
    "Users.password_bcrypt_2a": bcrypt_ok("$2a$04$"),
    "Users.password_bcrypt_2b": bcrypt_ok("$2b$04$"),
    "Users.password_null_oauth": lambda d, _: "password" in d and d["password"] is None,
    "Users.email_missing": lacks("email"),
    "Users.email_case_duplicate": same_count("email", "Users", 2),
    "Boards.legacy_fields": has("date_created", "last_edited"),
    "Boards.dangling_user": dangles("user"),
    "Boards.visibility_free_string": odd("visibility", "public", "private"),
    "Boards.sharedWith_dangling": lambda d, dump: any(
        u not in dump.by_id for u in d["sharedWith"]
    ),
    "Boards.sharedWith_duplicate": lambda d, _: len(set(d["sharedWith"])) < len(d["sharedWith"]),
    "Sections.dangling_board": dangles("board"),
    "Tasks.legacy_fields": lambda d, _: all(
        isinstance(d[f], str) for f in ("account", "contact", "opportunity")
    ),
    "Tasks.section_missing": lacks("section"),
    "Tasks.priority_free_string": odd("priority", "low", "medium", "high", "critical"),
    "Tasks.tags_json_list": is_a("tags", list),
    "Tasks.tags_json_object": is_a("tags", dict),
    "Tasks.dangling_section": dangles("section"),
    "Tasks.dangling_user": dangles("user"),
    "Tasks.emoji_content": lambda d, _: "🚀" in d["content"],
    "crm_Accounts_Tasks.tags_json_object": is_a("tags", dict),
    "crm_Accounts_Tasks.priority_free_string": odd(
        "priority", "low", "medium", "high", "critical"
    ),
    "crm_Accounts_Tasks.dangling_account": dangles("account"),
    "crm_Accounts_Tasks.dangling_user": dangles("user"),
    "crm_Accounts_Tasks.taskStatus_missing": lacks("taskStatus"),
    "tasksComments.task_is_crm_task": comment_on_crm_task(assigned=False),
    "tasksComments.task_is_crm_task_and_assigned": comment_on_crm_task(assigned=True),
    "tasksComments.dangling_task_and_user": lambda d, dump: (
        d["task"] not in dump.by_id and d["user"] not in dump.by_id
    ),
    "Documents_Types.duplicate_name": same_count("name", "Documents_Types", 2),
    "crm_campains.old_collection": has("name", "__v"),
    "Employees.status_free_string": odd("status", "Active"),
    "TodoList.string_fields": lambda d, _: (
        isinstance(d["createdAt"], str) and isinstance(d["user"], str)
    ),
    "system_Modules_Enabled.legacy_fields": has("icon", "menuItem", "open", "route"),
    "systemServices.plaintext_secret": lambda d, _: any(
        isinstance(d.get(f), str) for f in ("serviceKey", "servicePassword")
    ),
    "openAi_keys.plaintext_secret": is_a("api_key", str),
    "openAi_keys.dangling_user": dangles("user"),
    "secondBrain_notions.plaintext_secret": is_a("notion_api_key", str),
    "secondBrain_notions.dangling_user": dangles("user"),
}
