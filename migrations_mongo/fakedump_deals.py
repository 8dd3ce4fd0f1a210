"""Document builders of the fake NextCRM dump: leads, opportunities, contracts, documents and
invoices (see fakedump_docs for the conventions)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

from bson import ObjectId

from migrations_mongo.fakedump import Plan, link_mode
from migrations_mongo.fakedump_docs import (
    CO_PERIOD,
    CURRENCIES,
    EMOJI_TEXT,
    FIRST,
    FIRST_SLUG,
    LAST,
    LAST_SLUG,
    ODD_CURRENCIES,
    PLACES,
    STREETS,
    UNICODE_NAMES,
    Doc,
    co_partners,
    company_name,
    dt,
    phone,
    pickers,
    quirks_of,
)

CAMPAIGN_NAMES = ("Social networks", "Cold calls")

LEAD_QUIRKS = (
    *("lastName_missing", "legacy_fields", "status_free_string", "createdAt_missing"),
    *("dangling_accountsIDs", "dangling_assigned_to", "unicode_name", "type_free_string"),
)


def leads(p: Plan) -> Iterator[Doc]:
    rng, stamp = p.rng("crm_Leads"), p.stamper("crm_Leads")
    r = rng.random
    _, user = pickers(p, "Users")
    account, n_acc = p.ids("crm_Accounts"), p.sizes["crm_Accounts"]
    documents = p.links["leads_documents"][0]
    quirk_at = quirks_of(p, "crm_Leads", LEAD_QUIRKS)
    for i in range(p.sizes["crm_Leads"]):
        oid, ts = stamp(i)
        created, owner = dt(ts, UTC), user()
        fi, li = int(r() * len(FIRST)), int(r() * len(LAST))
        doc: Doc = {
            "_id": oid,
            "__v": 1,  # what the app's create call writes
            "createdAt": created,
            "updatedAt": dt(ts + int(r() * 9e6), UTC),
            "createdBy": owner,
            "updatedBy": owner,
            "firstName": FIRST[fi],
            "lastName": LAST[li],
            "company": company_name(rng),
            "jobTitle": rng.choice(("Buyer", "CEO", "IT Manager", "Office Manager")),
            "email": f"{FIRST_SLUG[fi]}.{LAST_SLUG[li]}@example.com",
            "phone": phone(r),
            "description": "Asked for a demo on the website",
            "lead_source": rng.choice(("Website", "Referral", "Cold call", "LinkedIn")),
            "refered_by": f"{FIRST[li % len(FIRST)]} {LAST[fi % len(LAST)]}" if r() < 0.2 else "",
            "campaign": rng.choice(CAMPAIGN_NAMES),  # a plain string here, unlike on deals
            "status": rng.choice(("NEW", "NEW", "IN_PROGRESS", "COMPLETED")),
            "type": "DEMO",
            "assigned_to": owner,
            "documentsIDs": documents.get(i, []),
        }
        if r() < 0.5:
            doc["accountsIDs"] = account(int(r() * n_acc))
        quirk = quirk_at(i, oid)
        if quirk == "lastName_missing":  # Q1: optional until 2023-10-07
            del doc["lastName"]
        elif quirk == "legacy_fields":  # Q2, dropped 2023-10
            doc |= {"date_created": created, "date_modify": doc["updatedAt"]}
            doc["last_activity_by"] = owner
        elif quirk == "status_free_string":  # Q8
            doc["status"] = ("In Progress", "in_progress", "new", "CONTACTED")[i // 200 % 4]
        elif quirk == "createdAt_missing":
            del doc["createdAt"]
        elif quirk == "dangling_accountsIDs":  # Q5
            doc["accountsIDs"] = p.dangling()
        elif quirk == "dangling_assigned_to":
            doc["assigned_to"] = p.dangling()
        elif quirk == "unicode_name":
            doc["firstName"], doc["lastName"] = UNICODE_NAMES[i // 200 % 3]
        elif quirk == "type_free_string":
            doc["type"] = ("demo", "Trial", "")[i // 200 % 3]
        yield doc


OPPORTUNITY_QUIRKS = (
    *("money_as_string", "money_unparseable", "createdAt_missing", "status_free_string"),
    *("campaign_as_plain_string", "sales_stage_missing", "creator_only_created_by"),
    *("creator_fields_disagree", "created_on_vs_createdAt_disagree", "currency_free_text"),
    *("dangling_account", "dangling_contact", "dangling_sales_stage", "dangling_assigned_to"),
    "emoji_description",
)
DEAL_NAMES = ("CRM rollout", "Licence renewal", "Hardware upgrade", "Support contract", "Pilot")


def opportunities(p: Plan) -> Iterator[Doc]:
    rng, stamp = p.rng("crm_Opportunities"), p.stamper("crm_Opportunities")
    r = rng.random
    users, user = pickers(p, "Users")
    account, n_acc = p.ids("crm_Accounts"), p.sizes["crm_Accounts"]
    contact = p.ids("crm_Contacts")
    _, campaign = pickers(p, "crm_campaigns")
    _, stage = pickers(p, "crm_Opportunities_Sales_Stages")
    _, kind = pickers(p, "crm_Opportunities_Type")
    documents = p.links["opportunities_documents"][0]
    quirk_at = quirks_of(p, "crm_Opportunities", OPPORTUNITY_QUIRKS)
    for j in range(p.sizes["crm_Opportunities"]):
        oid, ts = stamp(j)
        created, owner = dt(ts, UTC), user()
        mode = link_mode(j, CO_PERIOD)
        partners: list[ObjectId] = []
        for t in range(co_partners(j)):
            if mode == "disagree":  # names a contact that does not name it back
                partners.append(contact(5 * j + 3 + t))
            elif mode != "only_a":
                partners.append(contact(5 * j + t))
        if mode == "dangling":
            partners.append(p.dangling())
        budget = int(r() * 200) * 500
        doc: Doc = {
            "_id": oid,
            "__v": 0,
            "name": f"{DEAL_NAMES[j % len(DEAL_NAMES)]} #{j}",
            "description": "",
            "next_step": rng.choice(("Send offer", "Call back", "Demo", "")),
            "budget": budget,
            "expected_revenue": budget * int(r() * 10) // 10,
            "currency": CURRENCIES[j % 3],
            "close_date": dt(ts + int(r() * 1.5e7), UTC),
            "created_on": created,
            "createdAt": created,
            "updatedAt": dt(ts + int(r() * 9e6), UTC),
            "status": rng.choice(("ACTIVE", "ACTIVE", "ACTIVE", "PENDING", "CLOSED", "INACTIVE")),
            "account": account(int(r() * n_acc)),
            "assigned_to": owner,
            "created_by": owner,
            "createdBy": owner,
            "campaign": campaign(),
            "sales_stage": stage(),
            "type": kind(),
            "contact": contact(5 * j),
            "updatedBy": owner,
            "last_activity_by": owner,
            "connected_contacts": partners,
            "connected_documents": documents.get(j, []),
        }
        quirk = quirk_at(j, oid)
        if quirk == "money_as_string":  # Q1: Strings before 2023-09-09
            doc["budget"] = ("12000", "12,000.50", "7 500")[j // 200 % 3]
            doc["expected_revenue"] = ("6000", "6,000.25", "3 750")[j // 200 % 3]
        elif quirk == "money_unparseable":
            doc |= {"budget": "n/a", "expected_revenue": "TBD"}
        elif quirk == "createdAt_missing":  # Q1: optional before 2024-06-12
            del doc["createdAt"]
        elif quirk == "status_free_string":  # Q1/Q8: free String before 2023-07-23
            doc["status"] = ("active", "In Progress", "in_progress", "Won")[j // 200 % 4]
        elif quirk == "campaign_as_plain_string":  # Q1: plain String before 2023-07-22
            doc["campaign"] = CAMPAIGN_NAMES[j // 200 % 2]
        elif quirk == "sales_stage_missing":
            del doc["sales_stage"]
        elif quirk == "creator_only_created_by":  # Q6
            del doc["createdBy"]
        elif quirk == "creator_fields_disagree":
            doc["createdBy"], doc["created_by"] = users[0], users[1]
        elif quirk == "created_on_vs_createdAt_disagree":
            doc["created_on"] = dt(ts - 86400 * 10, UTC)
        elif quirk == "currency_free_text":  # Q9
            doc["currency"] = ODD_CURRENCIES[j // 200 % len(ODD_CURRENCIES)]
        elif quirk == "dangling_account":  # Q5
            doc["account"] = p.dangling()
        elif quirk == "dangling_contact":  # the implicit primary contact
            doc["contact"] = p.dangling()
        elif quirk == "dangling_sales_stage":
            doc["sales_stage"] = p.dangling()
        elif quirk == "dangling_assigned_to":
            doc["assigned_to"] = p.dangling()
        elif quirk == "emoji_description":
            doc["description"] = EMOJI_TEXT
        yield doc


DOCUMENT_QUIRKS = (
    *("name_url_mime_missing", "legacy_account", "tags_json_object", "tags_json_list"),
    *("connected_documents_json", "creator_fields_disagree", "date_created_vs_createdAt_disagree"),
    *("last_updated_vs_updatedAt_disagree", "status_free_string", "dangling_document_type"),
    *("dangling_assigned_user", "mime_type_guessed"),
)
FILES = (
    ("Offer", "pdf", "application/pdf"),
    ("Scan", "png", "image/png"),
    ("Notes", "jpg", "image/jpg"),
)
SYSTEM_TYPES = ("INVOICE", "RECEIPT", "CONTRACT", "OFFER", "OTHER")
# Documents' side of each link (§4.2): link name -> stored array.
DOCUMENT_ARRAYS = (
    ("accounts_documents", "accountsIDs"),
    ("leads_documents", "leadsIDs"),
    ("contacts_documents", "contactsIDs"),
    ("opportunities_documents", "opportunityIDs"),
    ("invoices_documents", "invoiceIDs"),
    ("tasks_documents", "tasksIDs"),
    ("crm_tasks_documents", "crm_accounts_tasksIDs"),
)


def documents(p: Plan) -> Iterator[Doc]:
    rng, stamp = p.rng("Documents"), p.stamper("Documents")
    r = rng.random
    users, user = pickers(p, "Users")
    _, doc_type = pickers(p, "Documents_Types")
    doc_id, account = p.ids("Documents"), p.ids("crm_Accounts")
    quirk_at = quirks_of(p, "Documents", DOCUMENT_QUIRKS)
    for d in range(p.sizes["Documents"]):
        oid, ts = stamp(d)
        created, updated, owner = dt(ts, UTC), dt(ts + 7200, UTC), user()
        stem, ext, mime = FILES[d % len(FILES)]
        key = f"{oid}-{stem.lower()}.{ext}"
        doc: Doc = {
            "_id": oid,
            "__v": 0,
            "document_name": f"{stem} {d}.{ext}",
            "document_file_url": f"https://utfs.io/f/{key}",  # Q13: the file lives outside
            "document_file_mimeType": mime,
            "key": key,
            "size": 1000 + int(r() * 5e6),
            "description": "",
            "status": "ACTIVE",
            "visibility": rng.choice(("public", "private")),
            "favourite": r() < 0.1,
            "document_system_type": SYSTEM_TYPES[d % 5],
            "document_type": doc_type(),
            "createdBy": owner,  # what the upload code sets; created_by_user stays unset
            "assigned_user": owner,
            "date_created": created,
            "createdAt": created,
            "last_updated": updated,
            "updatedAt": updated,
            "connected_documents": [str(doc_id(d - 1))] if d % 7 == 6 else [],
        }
        for link, field in DOCUMENT_ARRAYS:
            doc[field] = p.links[link][1].get(d, [])
        quirk = quirk_at(d, oid)
        if quirk == "name_url_mime_missing":  # Q1: optional until 2023-09-03
            for field in ("document_name", "document_file_url", "document_file_mimeType"):
                del doc[field]
        elif quirk == "legacy_account":  # Q2, dropped 2023-08
            doc["account"] = account(d)
        elif quirk == "tags_json_object":  # Q10: Json with no schema
            doc["tags"] = {"labels": ["contract", "2024"], "color": "red"}
        elif quirk == "tags_json_list":
            doc["tags"] = ["contract", "signed"]
        elif quirk == "connected_documents_json":  # Q1: Json before 2023-08
            doc["connected_documents"] = [{"id": str(doc_id(0)), "name": "Offer 0.pdf"}]
        elif quirk == "creator_fields_disagree":  # Q6
            doc["created_by_user"], doc["createdBy"] = users[0], users[1]
        elif quirk == "date_created_vs_createdAt_disagree":
            doc["date_created"] = dt(ts - 86400, UTC)
        elif quirk == "last_updated_vs_updatedAt_disagree":
            doc["last_updated"] = dt(ts + 86400 * 5, UTC)
        elif quirk == "status_free_string":  # Q8
            doc["status"] = ("Active", "archived", "DRAFT")[d // 200 % 3]
            doc["visibility"] = ("Public", "PRIVATE", "team")[d // 200 % 3]
        elif quirk == "dangling_document_type":  # Q5
            doc["document_type"] = p.dangling()
        elif quirk == "dangling_assigned_user":
            doc["assigned_user"] = p.dangling()
        elif quirk == "mime_type_guessed":  # Q13: what the upload code guesses for .docx
            doc |= {
                "document_name": f"Contract {d}.docx",
                "document_file_mimeType": "application/docs",
            }
        yield doc


INVOICE_QUIRKS = (
    *("visibility_as_string", "legacy_fields", "invoice_amount_text", "invoice_items_json"),
    *("connected_documents_json", "status_free_string", "currency_free_text"),
    *("dangling_assigned_account", "dangling_invoice_state"),
)


def invoices(p: Plan) -> Iterator[Doc]:
    rng, stamp = p.rng("Invoices"), p.stamper("Invoices")
    r = rng.random
    _, user = pickers(p, "Users")
    _, state = pickers(p, "invoice_States")
    account, n_acc = p.ids("crm_Accounts"), p.sizes["crm_Accounts"]
    documents, doc_id = p.links["invoices_documents"][0], p.ids("Documents")
    quirk_at = quirks_of(p, "Invoices", INVOICE_QUIRKS)
    for i in range(p.sizes["Invoices"]):
        oid, ts = stamp(i)
        owner, partner = user(), company_name(rng)
        city, country = rng.choice(PLACES)
        amount = int(r() * 1e6) / 100
        doc: Doc = {
            "_id": oid,
            "__v": 0,
            "date_created": dt(ts, UTC),
            "last_updated": dt(ts + 600, UTC),
            "date_received": dt(ts, UTC),
            "date_due": dt(ts + 14 * 86400, UTC),
            "invoice_file_url": f"https://utfs.io/f/{oid}-invoice.pdf",
            "invoice_file_mimeType": "application/pdf",
            "invoice_number": f"FV{2023 + i % 2}{i:05d}",
            "invoice_amount": f"{amount:.2f}",  # Q9: a String in the schema
            "invoice_currency": CURRENCIES[i % 3],
            "invoice_language": "cs",
            "variable_symbol": f"{i:010d}",
            "favorite": False,
            "visibility": True,
            "status": "new",
            "partner": partner,
            "partner_street": f"{rng.choice(STREETS)} {i % 90 + 1}",
            "partner_city": city,
            "partner_country": country,
            "partner_VAT_number": f"CZ{int(r() * 1e8):08d}",
            "partner_email": "billing@example.com",
            "rossum_status": "exported",
            "invoice_state_id": state(),
            "assigned_user_id": owner,
            "assigned_account_id": account(int(r() * n_acc)),
            "last_updated_by": owner,
            "connected_documents": documents.get(i, []),
        }
        quirk = quirk_at(i, oid)
        if quirk == "visibility_as_string":  # Q1: a String until 2023-08
            doc["visibility"] = ("public", "true", "private")[i // 200 % 3]
        elif quirk == "legacy_fields":  # Q2, dropped 2023-08 (inovice_currency sic)
            doc |= {"account": doc["assigned_account_id"], "user": owner, "invoice_state": "new"}
            doc |= {
                "inovice_currency": "CZK",
                "partner_address": f"{doc['partner_street']}, {city}",
            }
        elif quirk == "invoice_amount_text":  # Q9
            doc["invoice_amount"] = ("1 234,50", "€ 99", "")[i // 200 % 3]
        elif quirk == "invoice_items_json":  # Q10: a list of objects, no schema
            doc["invoice_items"] = [
                {"description": "Consulting", "quantity": 10, "unit_price": "120.00", "vat": 21},
                {"description": "Licence 🚀", "quantity": 1, "unit_price": 990, "vat": None},
            ]
        elif quirk == "connected_documents_json":  # Q1: Json before 2023-08 (no link side)
            doc["connected_documents"] = {"documents": [str(doc_id(0))], "source": "rossum"}
        elif quirk == "status_free_string":  # Q8
            doc["status"] = ("New", "NEW", "paid")[i // 200 % 3]
        elif quirk == "currency_free_text":
            doc["invoice_currency"] = ODD_CURRENCIES[i // 200 % len(ODD_CURRENCIES)]
        elif quirk == "dangling_assigned_account":
            doc["assigned_account_id"] = p.dangling()
        elif quirk == "dangling_invoice_state":
            doc["invoice_state_id"] = p.dangling()
        yield doc
