"""Companies (crm_Accounts), contacts and leads."""

from __future__ import annotations

from typing import Any

from migrations_mongo import convert
from migrations_mongo.document import Doc, row_id

from .common import campaign_named, campaigns_by_name, choice, record, required_text, tags
from .spec import Spec

COMPANY_TYPES = {
    "customer": "customer",
    "client": "customer",
    "prospect": "prospect",
    "lead": "prospect",
    "partner": "partner",
    "reseller": "partner",
    "vendor": "vendor",
    "supplier": "vendor",
    "competitor": "competitor",
    "other": "other",
}
ACTIVE_INACTIVE = {"active": "active", "inactive": "inactive", "pending": "inactive"}
CONTACT_TYPES = {
    "customer": "customer",
    "client": "customer",
    "prospect": "prospect",
    "lead": "prospect",
    "partner": "partner",
    "vendor": "vendor",
    "supplier": "vendor",
    "other": "other",
}
# The UI writes NEW / IN_PROGRESS / COMPLETED; the unused enum says NEW / CONTACTED /
# QUALIFIED / LOST (Q8). "Converted" is not among them: minicrm sets it only by converting.
LEAD_STATUSES = {
    "new": "new",
    "open": "new",
    "inprogress": "contacted",
    "contacted": "contacted",
    "working": "contacted",
    "completed": "qualified",
    "qualified": "qualified",
    "lost": "lost",
    "closed": "lost",
    "unqualified": "lost",
}
SOCIAL = ("twitter", "facebook", "linkedin", "skype", "instagram", "youtube", "tiktok")


def company(doc: Doc) -> dict[str, Any]:
    website = doc.get("website", convert.url, default="")
    fields = {
        "name": required_text(doc, ("name",), 255, "(unnamed company)"),
        "website": website,
        "domain": convert.domain_of(website),
        "email": doc.get("email", convert.email, default=""),
        "phone": doc.text("office_phone", max_length=64),
        "fax": doc.text("fax", max_length=64),
        "industry_id": doc.ref("industry", "industry"),
        "type": choice(doc, "type", COMPANY_TYPES, "customer", unknown="other"),
        "status": choice(doc, "status", ACTIVE_INACTIVE, "active"),
        # Free text in NextCRM (Q9): "1,200,000" becomes a number, "about 2M" stays a leftover.
        "annual_revenue": doc.get("annual_revenue", convert.decimal),
        "employee_count": doc.get("employees", convert.integer),
        "vat_number": doc.text("vat", max_length=64),
        "registration_number": doc.text("company_id", max_length=64),
        "description": doc.text("description"),
        "parent_id": None,  # member_of is a name, not a reference: kept in the leftovers
        "tags": [],
    }
    for prefix in ("billing", "shipping"):
        for part, size in (
            ("street", 255),
            ("city", 120),
            ("state", 120),
            ("postal_code", 32),
            ("country", 120),
        ):
            fields[f"{prefix}_{part}"] = doc.text(f"{prefix}_{part}", max_length=size)
    doc.link("watchers", "company_watchers", owner_side=True)
    doc.link("documentsIDs", "document_companies", owner_side=False)
    return {
        **record(
            doc, created=("createdAt", "date_created"), updated=("updatedAt", "date_last_modified")
        ),
        **fields,
    }


def contact(doc: Doc) -> dict[str, Any]:
    row = record(doc, created=("createdAt", "cratedAt", "created_on"))
    social = {}
    for network in SOCIAL:
        value = doc.text(f"social_{network}", max_length=500)
        if value:
            social[network] = value
    row.update(
        {
            "first_name": doc.text("first_name", max_length=120),
            "last_name": required_text(doc, ("last_name",), 120, "(no last name)"),
            "email": doc.get("email", convert.email, default=""),
            "personal_email": doc.get("personal_email", convert.email, default=""),
            "phone": doc.text("office_phone", max_length=64),
            "mobile_phone": doc.text("mobile_phone", max_length=64),
            "position": doc.text("position", max_length=160),
            # accountsIDs is the link the app writes; `account` the legacy one (Q1, section 4.1).
            "company_id": doc.ref(("accountsIDs", "account"), "company"),
            "type": choice(doc, "type", CONTACT_TYPES, "customer", unknown="other"),
            "is_active": doc.get("status", convert.boolean, default=True),
            "birthday": doc.get("birthday", convert.birthday),
            "website": doc.get("website", convert.url, default=""),
            "social_profiles": social,
            "street": "",
            "city": "",
            "state": "",
            "postal_code": "",
            "country": "",
            "description": doc.text("description"),
            "tags": tags(doc, "tags"),
            "last_activity_at": doc.get("last_activity", convert.timestamp),
        }
    )
    # Creators have no column (ownership is what minicrm shows), so they stay in the
    # leftovers; they are read here only to name the author of the contact's notes.
    author = doc.peek_ref(("created_by", "createdBy"), "user")
    notes = doc.take("notes")
    if isinstance(notes, str):
        notes = [notes]
    if isinstance(notes, list):
        not_text = [body for body in notes if not isinstance(body, str)]
        if not_text:
            doc.lossy("notes", not_text, "entries that are not text")
        for index, body in enumerate(notes):
            if not isinstance(body, str) or not body.strip():
                continue
            # Each entry of crm_Contacts.notes becomes a note on the contact's timeline.
            doc.add_row(
                "crm_note",
                {
                    "id": row_id(doc.oid, f":note:{index}"),
                    "legacy_id": f"{doc.oid}:note:{index}",
                    "body": body.replace("\x00", ""),
                    "author_id": author,
                    "contact_id": doc.id,
                    "created_at": row["created_at"],
                    "updated_at": row["created_at"],
                },
            )
    elif notes is not None:
        doc.lossy("notes", notes, "expected a list of texts")
    doc.link("opportunitiesIDs", "deal_contacts", owner_side=False)
    doc.link("documentsIDs", "document_contacts", owner_side=False)
    return row


def lead(doc: Doc) -> dict[str, Any]:
    row = record(doc, created=("createdAt", "date_created"), updated=("updatedAt", "date_modify"))
    campaign_id = campaign_named(doc)  # a plain name here, unlike on opportunities (section 5.1)
    row.update(
        {
            "first_name": doc.text("firstName", max_length=120),
            "last_name": required_text(doc, ("lastName",), 120, "(no last name)"),
            "company_name": doc.text("company", max_length=255),
            "email": doc.get("email", convert.email, default=""),
            "phone": doc.text("phone", max_length=64),
            "job_title": doc.text("jobTitle", max_length=160),
            "source": doc.text("lead_source", max_length=100),
            "status": choice(doc, "status", LEAD_STATUSES, "new"),
            "campaign_id": campaign_id,
            "referred_by": doc.text("refered_by", "referred_by", max_length=255),
            "company_id": doc.ref("accountsIDs", "company"),
            "description": doc.text("description"),
            "tags": [],
            "converted_at": None,
            "converted_contact_id": None,
            "converted_deal_id": None,
        }
    )
    doc.link("documentsIDs", "document_leads", owner_side=False)
    return row


SPECS = [
    Spec(
        "crm_Accounts",
        "crm_company",
        company,
        refs={"assigned_to": "user", "industry": "industry"},
    ),
    Spec(
        "crm_Contacts",
        "crm_contact",
        contact,
        refs={
            "assigned_to": "user",
            "accountsIDs": "company",
            "account": "company",
            "created_by": "user",
            "createdBy": "user",
        },
        extra_tables=("crm_note",),
    ),
    Spec(
        "crm_Leads",
        "crm_lead",
        lead,
        prepare=campaigns_by_name,
        refs={"assigned_to": "user", "accountsIDs": "company"},
    ),
]
