"""References with twins, arrays and fallbacks: the first one that points at an imported row is
the link, and each dangling or invalid value is logged once, against its own field."""

from __future__ import annotations

import pytest
from bson import ObjectId

from crm.models import Company, Contact, Task
from migrations_mongo.models import ImportIssue, Leftover

pytestmark = pytest.mark.django_db

U1, A1, A2 = ObjectId(), ObjectId(), ObjectId()
USERS = [{"_id": U1, "email": "one@example.com", "userStatus": "ACTIVE"}]
ACCOUNTS = [{"_id": A1, "name": "Acme"}, {"_id": A2, "name": "Beta"}]


def warnings(oid: ObjectId) -> list[tuple[str, str]]:
    rows = ImportIssue.objects.filter(object_id=str(oid), kind="warning")
    return sorted(rows.values_list("field", "reason"))


def leftovers(oid: ObjectId) -> dict:
    row = Leftover.objects.filter(object_id=str(oid)).first()
    return row.data if row else {}


def test_a_dangling_accounts_ids_gives_way_to_a_valid_legacy_account(dump, run_import) -> None:
    contact, missing = ObjectId(), ObjectId()
    folder = dump(
        crm_Accounts=ACCOUNTS,
        crm_Contacts=[{"_id": contact, "last_name": "Doe", "accountsIDs": missing, "account": A1}],
    )
    assert run_import(folder) == 0
    assert Contact.objects.get(legacy_id=str(contact)).company.legacy_id == str(A1)
    assert warnings(contact) == [
        ("accountsIDs", "points at a company that is not in the import; account used instead")
    ]
    assert leftovers(contact) == {"accountsIDs": {"$oid": str(missing)}}


def test_a_valid_accounts_ids_wins_and_a_differing_account_is_kept(dump, run_import) -> None:
    contact = ObjectId()
    folder = dump(
        crm_Accounts=ACCOUNTS,
        crm_Contacts=[{"_id": contact, "last_name": "Doe", "accountsIDs": A1, "account": A2}],
    )
    assert run_import(folder) == 0
    assert Contact.objects.get(legacy_id=str(contact)).company.legacy_id == str(A1)
    assert warnings(contact) == []
    assert leftovers(contact) == {"account": {"$oid": str(A2)}}


def test_twins_that_all_dangle_are_each_logged_and_the_link_is_empty(dump, run_import) -> None:
    contact, one, two = ObjectId(), ObjectId(), ObjectId()
    folder = dump(
        crm_Accounts=ACCOUNTS,
        crm_Contacts=[{"_id": contact, "last_name": "Doe", "accountsIDs": one, "account": two}],
    )
    assert run_import(folder) == 0
    assert Contact.objects.get(legacy_id=str(contact)).company is None
    reason = "points at a company that is not in the import; set to empty"
    assert warnings(contact) == [("account", reason), ("accountsIDs", reason)]
    assert leftovers(contact) == {
        "accountsIDs": {"$oid": str(one)},
        "account": {"$oid": str(two)},
    }


@pytest.mark.parametrize("first_bad", [False, True])
def test_an_invalid_entry_in_an_object_id_array_drops_only_that_entry(
    dump, run_import, first_bad
) -> None:
    contact = ObjectId()
    entries = ["not-an-object-id", A1] if first_bad else [A1, "not-an-object-id"]
    folder = dump(
        crm_Accounts=ACCOUNTS,
        crm_Contacts=[{"_id": contact, "last_name": "Doe", "accountsIDs": entries}],
    )
    assert run_import(folder) == 0
    assert Contact.objects.get(legacy_id=str(contact)).company.legacy_id == str(A1)
    assert warnings(contact) == [
        ("accountsIDs", "entries that are not ObjectIds left out; kept in the leftovers")
    ]
    issue = ImportIssue.objects.get(object_id=str(contact))
    assert issue.value == ["not-an-object-id"]
    kept = leftovers(contact)["accountsIDs"]
    assert {"$oid": str(A1)} in kept and "not-an-object-id" in kept


def test_a_task_whose_user_dangles_logs_it_once(dump, run_import) -> None:
    task, nobody = ObjectId(), ObjectId()
    folder = dump(
        Users=USERS,
        crm_Accounts_Tasks=[{"_id": task, "title": "Call", "user": nobody}],
    )
    assert run_import(folder) == 0
    row = Task.objects.get(legacy_id=str(task))
    assert row.owner is None and row.assignee is None
    assert warnings(task) == [("user", "points at a user that is not in the import; set to empty")]


def test_a_task_with_a_dangling_creator_is_owned_by_its_user(dump, run_import) -> None:
    task, nobody = ObjectId(), ObjectId()
    folder = dump(
        Users=USERS,
        crm_Accounts_Tasks=[{"_id": task, "title": "Call", "user": U1, "createdBy": nobody}],
    )
    assert run_import(folder) == 0
    row = Task.objects.get(legacy_id=str(task))
    assert row.owner.legacy_id == str(U1) and row.assignee.legacy_id == str(U1)
    assert warnings(task) == [
        ("createdBy", "points at a user that is not in the import; user used instead")
    ]
    assert leftovers(task) == {"createdBy": {"$oid": str(nobody)}}


def test_an_invalid_entry_in_a_link_array_drops_only_itself(dump, run_import) -> None:
    company = ObjectId()
    folder = dump(
        Users=USERS,
        crm_Accounts=[{"_id": company, "name": "Acme", "watchers": [U1, "not-an-id"]}],
    )
    assert run_import(folder) == 0
    watchers = Company.objects.get(legacy_id=str(company)).watchers.all()
    assert [u.email for u in watchers] == ["one@example.com"]
    assert warnings(company) == [("watchers", "not ObjectIds; kept in the leftovers")]
    assert leftovers(company) == {"watchers": ["not-an-id"]}
