"""A source imported again after it changed: rows and leftovers are updated in place, what did
not change is not written, and what an existing row keeps stays as it was."""

from __future__ import annotations

import pytest
from bson import ObjectId
from django.db import connection

from accounts.models import User
from crm.models import Company
from migrations_mongo.models import Leftover
from migrations_mongo.pipeline import Importer
from migrations_mongo.sources import DumpSource
from tests.mongo.mongo_helpers import when, write_bson

pytestmark = pytest.mark.django_db

U1, A1, A2, A3, A4 = (ObjectId() for _ in range(5))
BCRYPT = "$2a$04$" + "a" * 53


def company(oid: ObjectId, name: str, **extra: object) -> dict:
    return {"_id": oid, "name": name, "createdAt": when(1), "updatedAt": when(2), **extra}


def run(folder, *, restart: bool = False) -> None:
    importer = Importer(DumpSource(folder), batch_size=10, progress=None)
    if restart:
        importer.restart()
    importer.run()


def xmin(legacy_id: ObjectId) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text FROM crm_company WHERE legacy_id = %s", [str(legacy_id)])
        return cursor.fetchone()[0]


def test_a_changed_source_imported_again_updates_rows_and_leftovers_in_place(tmp_path) -> None:
    folder = tmp_path / "dump"
    user = {"_id": U1, "email": "u@example.com", "name": "Old", "password": BCRYPT}
    write_bson(folder, "Users", [user])
    write_bson(
        folder,
        "crm_Accounts",
        [
            company(A1, "Acme", member_of="Group X"),
            company(A2, "Beta", member_of="Group Y"),
            company(A4, "Same"),
        ],
    )
    run(folder)
    ids = dict(Company.objects.values_list("legacy_id", "id"))
    untouched = xmin(A4)

    write_bson(folder, "Users", [{**user, "name": "New", "password": BCRYPT.replace("a", "b")}])
    write_bson(
        folder,
        "crm_Accounts",
        [
            company(A1, "Acme Ltd", member_of="Group Z"),  # renamed, leftover changed
            company(A2, "Beta"),  # its leftover fixed at the source
            company(A3, "Gamma", member_of="Group W"),  # new beside existing rows
            company(A4, "Same"),
        ],
    )
    run(folder, restart=True)

    acme = Company.objects.get(legacy_id=str(A1))
    assert (acme.id, acme.name, acme.updated_at) == (ids[str(A1)], "Acme Ltd", when(2))
    assert Company.objects.get(legacy_id=str(A3)).name == "Gamma"
    assert xmin(A4) == untouched  # nothing differed: not written
    kept = dict(Leftover.objects.values_list("object_id", "data"))
    assert kept[str(A1)] == {"member_of": "Group Z"}
    assert kept[str(A3)] == {"member_of": "Group W"}
    assert str(A2) not in kept and str(A4) not in kept
    account = User.objects.get(legacy_id=str(U1))
    # The password is insert-only (it may have been rehashed at sign-in since).
    assert account.name == "New" and account.password == f"bcrypt${BCRYPT}"
