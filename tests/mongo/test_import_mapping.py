"""Each NextCRM quirk (schema doc, section 6) lands as docs/migrating-from-mongodb.md says."""

from __future__ import annotations

import json
from decimal import Decimal

import bcrypt
import pytest
from bson import ObjectId
from django.contrib.auth import authenticate

from accounts.models import User
from crm.models import Company, Contact, Deal, Document, Lead, Note, Section, Task, TaskComment
from migrations_mongo.models import Alias, ImportIssue, Leftover
from tests.mongo.mongo_helpers import when

pytestmark = pytest.mark.django_db

U1, U2, U3, A1, A2, C1, C2, O1, S1, S2, IND = (ObjectId() for _ in range(11))


def leftovers(oid: ObjectId) -> dict:
    row = Leftover.objects.filter(object_id=str(oid)).first()
    return row.data if row else {}


def issues(oid: ObjectId) -> list[tuple[str, str, str]]:
    return list(
        ImportIssue.objects.filter(object_id=str(oid)).values_list("field", "kind", "reason")
    )


def user_doc(oid: ObjectId, email: str | None, **extra: object) -> dict:
    return {
        "_id": oid,
        "email": email,
        "is_admin": False,
        "is_account_admin": False,
        "userStatus": "ACTIVE",
        "userLanguage": "en",
        "created_on": when(1),
        "__v": 0,
        **extra,
    }


def test_users_keep_their_bcrypt_password_and_roles(dump, run_import) -> None:
    hashed = bcrypt.hashpw(b"old secret", bcrypt.gensalt(4)).decode().replace("$2b$", "$2a$")
    folder = dump(
        Users=[
            user_doc(U1, "Ann@Example.com", password=hashed, is_admin=True, name="Ann"),
            user_doc(U2, "oauth@example.com", password=None, is_account_admin=True),
            user_doc(U3, "pending@example.com", userStatus="PENDING"),
        ]
    )
    assert run_import(folder) == 0
    ann = User.objects.get(legacy_id=str(U1))
    assert (ann.role, ann.is_staff, ann.is_superuser, ann.name) == ("admin", True, True, "Ann")
    assert authenticate(username="ann@example.com", password="old secret") == ann
    assert authenticate(username="ann@example.com", password="wrong") is None
    oauth = User.objects.get(legacy_id=str(U2))
    assert oauth.role == "manager" and not oauth.has_usable_password()
    assert User.objects.get(legacy_id=str(U3)).is_active is False  # awaiting approval upstream
    # The language has no column: kept, not dropped. The hash is never copied anywhere else.
    assert leftovers(U1) == {"userLanguage": "en"}
    assert not Leftover.objects.filter(data__icontains="$2a$").exists()


def test_users_differing_by_case_merge_and_an_existing_account_is_adopted(
    dump, run_import, admin_user
) -> None:
    folder = dump(
        Users=[
            user_doc(U1, "Sam@Example.com"),
            user_doc(U2, "sam@example.COM"),
            user_doc(U3, admin_user.email.upper(), is_admin=False, name="Imported name"),
            user_doc(ObjectId(), None),
        ]
    )
    assert run_import(folder) == 0
    sam = User.objects.get(legacy_id=str(U1))
    assert Alias.objects.get(object_id=str(U2)).target_id == sam.pk
    assert "merged" in issues(U2)[0][2] and "merged" in issues(U3)[0][2]
    admin_user.refresh_from_db()
    # Adopted: linked by legacy_id, its role and name left as they were.
    assert admin_user.legacy_id == str(U3) and admin_user.role == "admin"
    assert admin_user.name != "Imported name"
    placeholder = User.objects.filter(email__endswith="@users.invalid").get()
    assert placeholder.email.startswith("nextcrm-")
    assert User.objects.filter(legacy_id__isnull=False).count() == 3


def test_companies_contacts_and_their_old_shapes(dump, run_import) -> None:
    folder = dump(
        Users=[user_doc(U1, "owner@example.com")],
        crm_Industry_Type=[{"_id": IND, "name": "SW Development", "__v": 0}],
        crm_Accounts=[
            {
                "_id": A1,
                "name": "Acme",
                "annual_revenue": "1,200,000",
                "employees": "50-100",
                "industry": IND,
                "assigned_to": U1,
                "website": "www.acme.example",
                "status": "Active",
                "type": "Partner",
                "member_of": "Big Corp",
                "createdAt": when(1),
                "updatedAt": when(2),
                "connected_contacts": [C1],
                "vat": "CZ123",
            },
            # No createdAt (Q1), a dangling industry (Q5), odd enums (Q8).
            {
                "_id": A2,
                "name": "Beta",
                "industry": ObjectId(),
                "status": "PENDING",
                "type": "weird",
            },
        ],
        crm_Contacts=[
            {
                "_id": C1,
                "first_name": "Zoë",
                "last_name": "Ångström",
                "email": "zoe@acme.example",
                "accountsIDs": A1,
                "birthday": "7/3/1985",
                "status": "Active",
                "created_by": U1,
                "notes": ["Account: Acme", "Message: call back"],
                "tags": ["vip"],
                "social_linkedin": "https://linkedin.example/zoe",
                "cratedAt": when(3),
            },
            {
                "_id": C2,
                "last_name": None,
                "email": "not-an-email",
                "account": A2,
                "birthday": "sometime in May",
                "status": True,
                "first_name": "x" * 300,
            },
        ],
    )
    assert run_import(folder) == 0
    acme = Company.objects.get(legacy_id=str(A1))
    assert acme.annual_revenue == Decimal("1200000.00") and acme.employee_count is None
    assert (acme.website, acme.domain) == ("https://www.acme.example", "acme.example")
    assert (acme.type, acme.status, acme.vat_number) == ("partner", "active", "CZ123")
    assert acme.owner.legacy_id == str(U1) and acme.industry.name == "SW Development"
    assert (acme.created_at, acme.updated_at) == (when(1), when(2))
    assert leftovers(A1) == {
        "employees": "50-100",
        "member_of": "Big Corp",
        "connected_contacts": [{"$oid": str(C1)}],
    }
    beta = Company.objects.get(legacy_id=str(A2))
    assert beta.industry is None and beta.status == "inactive" and beta.type == "other"
    assert beta.created_at == A2.generation_time  # Q14: the ObjectId's own time
    assert {f for f, _, _ in issues(A2)} == {"industry", "type"}

    zoe = Contact.objects.get(legacy_id=str(C1))
    assert zoe.company == acme and zoe.birthday.isoformat() == "1985-03-07"
    assert zoe.social_profiles == {"linkedin": "https://linkedin.example/zoe"}
    assert zoe.tags == ["vip"] and zoe.created_at == when(3)
    notes = Note.objects.filter(contact=zoe).order_by("legacy_id")
    assert [n.body for n in notes] == ["Account: Acme", "Message: call back"]
    assert {n.author.legacy_id for n in notes} == {str(U1)}
    assert leftovers(C1) == {"created_by": {"$oid": str(U1)}}  # no creator column

    other = Contact.objects.get(legacy_id=str(C2))
    assert other.last_name == "(no last name)" and other.first_name == ""
    assert other.company == beta  # the legacy `account` link, as accountsIDs was missing
    assert other.email == "" and other.birthday is None
    assert leftovers(C2) == {
        "email": "not-an-email",
        "birthday": "sometime in May",
        "first_name": "x" * 300,
    }
    assert {f for f, k, _ in issues(C2)} == {"last_name", "email", "birthday", "first_name"}


def test_deals_stages_money_and_links_from_both_sides(dump, run_import) -> None:
    stage_new, stage_done, campaign = ObjectId(), ObjectId(), ObjectId()
    folder = dump(
        crm_Opportunities_Sales_Stages=[
            {"_id": stage_new, "name": "New", "probability": 10, "order": 0},
            {"_id": stage_done, "name": "Realization of the project", "probability": 100},
        ],
        crm_campaigns=[{"_id": campaign, "name": "Cold calls"}],
        crm_Contacts=[
            {"_id": C1, "last_name": "One", "opportunitiesIDs": [O1]},
            {"_id": C2, "last_name": "Two"},
        ],
        crm_Opportunities=[
            # Q1: money as text; Q4: the link to C1 is on both sides, to C2 only on this one.
            {
                "_id": O1,
                "name": "Big",
                "budget": "12,000.50",
                "expected_revenue": 0,
                "currency": "€",
                "sales_stage": stage_done,
                "status": "ACTIVE",
                "connected_contacts": [C1, C2, C2, ObjectId()],
                "campaign": "Cold calls",
                "contact": C1,
            },
            {
                "_id": ObjectId(),
                "name": "No stage",
                "expected_revenue": "9000",
                "status": "CLOSED",
                "currency": "usd",
                "campaign": campaign,
            },
        ],
    )
    assert run_import(folder) == 0
    big = Deal.objects.get(legacy_id=str(O1))
    assert (big.amount, big.currency, big.status) == (Decimal("12000.50"), "EUR", "won")
    assert big.stage.name == "Realization of the project" and big.stage.is_won
    assert big.pipeline.name == "NextCRM" and big.closed_at is not None
    assert big.campaign.name == "Cold calls" and big.primary_contact.last_name == "One"
    assert sorted(c.last_name for c in big.contacts.all()) == ["One", "Two"]
    assert leftovers(O1)["budget"] == "12,000.50"
    assert any("link dropped" in reason for _, _, reason in issues(O1))
    lost = Deal.objects.get(name="No stage")
    assert (lost.stage.name, lost.status, lost.amount, lost.currency) == (
        "New",
        "lost",
        Decimal("9000.00"),
        "USD",
    )
    assert lost.campaign.name == "Cold calls"


def test_work_boards_sections_tasks_and_comments_on_crm_tasks(dump, run_import) -> None:
    board, task, crm_task, orphan_section = ObjectId(), ObjectId(), ObjectId(), ObjectId()
    folder = dump(
        Users=[
            user_doc(U1, "one@example.com"),
            user_doc(U2, "two@example.com", watching_boardsIDs=[board]),
        ],
        crm_Accounts=[{"_id": A1, "name": "Acme"}],
        Boards=[
            {
                "_id": board,
                "title": "Launch",
                "description": "d",
                "user": U1,
                "sharedWith": [U2],
                "watchers": [U1],
                "visibility": "public",
                "date_created": when(1),
            }
        ],
        Sections=[
            {"_id": S1, "board": board, "title": "Doing", "position": 1},
            {"_id": orphan_section, "board": ObjectId(), "title": "Lost column"},
        ],
        Tasks=[
            {
                "_id": task,
                "title": "Ship",
                "priority": "High",
                "position": 3,
                "section": S1,
                "user": U1,
                "taskStatus": "COMPLETE",
                "tags": ["a", "b"],
                "account": "legacy",
            }
        ],
        crm_Accounts_Tasks=[
            {
                "_id": crm_task,
                "title": "Call",
                "priority": "Normal",
                "account": A1,
                "user": U2,
                "taskStatus": "PENDING",
            }
        ],
        tasksComments=[
            {"_id": ObjectId(), "comment": "on a project task", "task": task, "user": U1},
            # Q3: the app saved a CRM task's id in `task`.
            {"_id": ObjectId(), "comment": "on a CRM task", "task": crm_task, "user": U2},
            {"_id": S2, "comment": "nowhere", "task": ObjectId(), "user": ObjectId()},
        ],
    )
    assert run_import(folder) == 0
    launch = Section.objects.get(legacy_id=str(S1)).board
    assert (launch.title, launch.visibility, launch.owner.legacy_id) == (
        "Launch",
        "public",
        str(U1),
    )
    assert [u.legacy_id for u in launch.shared_with.all()] == [str(U2)]
    assert sorted(u.legacy_id for u in launch.watchers.all()) == sorted([str(U1), str(U2)])
    assert not Section.objects.filter(legacy_id=str(orphan_section)).exists()
    ship = Task.objects.get(legacy_id=str(task))
    assert (ship.status, ship.priority, ship.position, ship.tags) == (
        "done",
        "high",
        3,
        ["a", "b"],
    )
    assert ship.completed_at is not None and leftovers(task)["account"] == "legacy"
    call = Task.objects.get(legacy_id=str(crm_task))
    assert (call.company.name, call.priority, call.status) == ("Acme", "medium", "in_progress")
    assert call.assignee.legacy_id == str(U2)
    assert TaskComment.objects.get(body="on a CRM task").task == call
    assert TaskComment.objects.get(body="on a project task").task == ship
    skipped = ImportIssue.objects.get(object_id=str(S2))
    assert skipped.kind == "skipped" and skipped.value["comment"] == "nowhere"


def test_documents_invoices_and_collections_without_a_table(dump, run_import) -> None:
    document, invoice = ObjectId(), ObjectId()
    folder = dump(
        crm_Accounts=[{"_id": A1, "name": "Acme", "documentsIDs": [document]}],
        Leads=[],
        crm_Leads=[
            {
                "_id": ObjectId(),
                "lastName": "Lead",
                "status": "IN_PROGRESS",
                "documentsIDs": [document],
                "type": "DEMO",
            }
        ],
        Documents=[
            {
                "_id": document,
                "document_name": "Quote",
                "document_file_url": "http://files/q.pdf",
                "document_file_mimeType": "application/pdf",
                "document_system_type": "OFFER",
                "invoiceIDs": [invoice],
                "accountsIDs": [A1],
            },
            {"_id": ObjectId(), "document_name": "No file"},
        ],
        invoice_States=[{"_id": (paid := ObjectId()), "name": "Paid"}],
        Invoices=[
            {
                "_id": invoice,
                "invoice_number": "2024-1",
                "invoice_amount": "1 234,50",
                "invoice_state_id": paid,
                "inovice_currency": "Kč",
                "visibility": "true",
                "invoice_file_url": "https://files.example/i.pdf",
                "partner": "Supplier s.r.o.",
                "invoice_items": [{"name": "Work", "price": 10}],
                "date_created": when(4),
                "last_updated": when(5),
            }
        ],
        MyAccount=[{"_id": (me := ObjectId()), "company_name": "Us", "VAT_number": "CZ1"}],
        systemServices=[{"_id": ObjectId(), "name": "resend_smtp", "servicePassword": "hunter2"}],
        openAi_keys=[{"_id": ObjectId(), "user": U1, "api_key": "sk-secret"}],
        SomeForkCollection=[{"_id": ObjectId()}],
    )
    assert run_import(folder) == 0
    quote = Document.objects.get(legacy_id=str(document))
    assert (quote.url, quote.kind, quote.file.name) == ("http://files/q.pdf", "offer", "")
    assert [c.name for c in quote.companies.all()] == ["Acme"]
    assert [lead.status for lead in quote.leads.all()] == ["contacted"]
    assert quote.invoices.get().number == "2024-1"
    paid_invoice = quote.invoices.get()
    assert (paid_invoice.amount, paid_invoice.currency, paid_invoice.status) == (
        Decimal("1234.50"),
        "CZK",
        "paid",
    )
    assert paid_invoice.partner == {"partner": "Supplier s.r.o."}
    assert paid_invoice.line_items == [{"name": "Work", "price": 10}]
    assert Lead.objects.get().custom_fields == {}
    assert ImportIssue.objects.filter(kind="skipped", collection="Documents").count() == 1
    assert leftovers(me)["company_name"] == "Us"
    # Secrets are never stored: not in a row, a leftover or the log.
    everything = json.dumps(list(Leftover.objects.values_list("data", flat=True)))
    everything += json.dumps(list(ImportIssue.objects.values_list("value", flat=True)))
    assert "hunter2" not in everything and "sk-secret" not in everything
