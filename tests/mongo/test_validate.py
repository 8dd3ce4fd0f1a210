"""validate_mongo_migration: passes on a clean import, and each layer catches what it must,
naming the document. Tampering tests use a small dump written by hand with pymongo's `bson`
(each document is there for a test); the generated dump (migrations_mongo.fakedump, every
collection and quirk) shows a full import passing."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import bson
import mongomock
import pytest
from bson import ObjectId
from django.core.management import CommandError, call_command
from django.db import connection

from migrations_mongo import sources
from migrations_mongo.fakedump import generate_dump
from migrations_mongo.validate import Reservoir

pytestmark = pytest.mark.django_db(transaction=True)

BCRYPT = "$2a$10$" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"


def oid(tag: int, n: int = 0) -> ObjectId:
    return ObjectId(f"{0x65000000 + n:08x}{tag:04x}{'0' * 12}")


ADA, ADA_UPPER = oid(1), oid(1, 1)
STAGE, BOARD, MYACCOUNT, SERVICE, DANGLING = oid(2), oid(3), oid(4), oid(5), oid(99)
ACME, LONELY, VENDOR = oid(6), oid(6, 1), oid(6, 2)
ZOE, HAN = oid(7), oid(7, 1)
DEAL = oid(8)
SECTION, LOST_SECTION = oid(9), oid(9, 1)
NOTES = ["Account: Acme", "Message: call back 🚀"]  # each becomes a note on the contact


def nextcrm() -> dict[str, list[dict[str, Any]]]:
    """A small NextCRM: each document is here for a test below (the generated dump has the
    full set of quirks)."""
    return {
        "Users": [
            {"_id": ADA, "email": "ada@example.com", "password": BCRYPT, "is_admin": True},
            # Same email but for case: merged into Ada's account (an Alias).
            {"_id": ADA_UPPER, "email": "ADA@example.com", "watching_accountsIDs": [ACME]},
        ],
        "crm_Opportunities_Sales_Stages": [{"_id": STAGE, "name": "Prospecting"}],
        "crm_Accounts": [
            # member_of has no column: it is kept in the leftovers only.
            {"_id": ACME, "name": "Acme", "assigned_to": ADA, "member_of": "Acme Group"},
            {"_id": LONELY, "name": "Lonely Ltd"},  # nothing refers to it
            {"_id": VENDOR, "name": "Vltava", "assigned_to": ADA_UPPER, "type": "Vendor"},
        ],
        "crm_Contacts": [
            {"_id": ZOE, "last_name": "Ångström", "email": "zoe@example.com", "notes": NOTES},
            {"_id": HAN, "last_name": "Solo", "accountsIDs": VENDOR, "opportunitiesIDs": [DEAL]},
        ],
        "crm_Opportunities": [
            # Zoé is linked from the deal's side only (her opportunitiesIDs is empty).
            {"_id": DEAL, "name": "Big", "sales_stage": STAGE, "connected_contacts": [ZOE, HAN]},
        ],
        "Boards": [{"_id": BOARD, "title": "Launch", "user": ADA}],
        "Sections": [
            {"_id": SECTION, "board": BOARD, "title": "To do"},
            {"_id": LOST_SECTION, "board": DANGLING, "title": "Lost"},  # skipped, logged
        ],
        "MyAccount": [{"_id": MYACCOUNT, "company_name": "Us", "VAT_number": "CZ1"}],
        "systemServices": [{"_id": SERVICE, "name": "smtp", "serviceKey": "secret"}],
        "SomethingElse": [{"_id": oid(22), "x": 1}],
    }


def write_dump(folder: Path) -> Path:
    folder.mkdir()
    for name, docs in nextcrm().items():
        (folder / f"{name}.bson").write_bytes(b"".join(bson.encode(doc) for doc in docs))
    return folder


def sql(statement: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else cursor.rowcount


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    dump = write_dump(tmp_path / "dump")
    call_command("migrate_from_mongo", dump=str(dump), quiet=True, error_log=str(tmp_path / "l"))
    return dump


def run_validate(dump: Path, tmp_path: Path, **options: Any) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "report.json"
    options = {"sample": 50, "seed": 7, "verbosity": 0, **options}
    try:
        call_command("validate_mongo_migration", dump=str(dump), json=str(out), **options)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, json.loads(out.read_text())


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {key: layer["status"] for key, layer in report["layers"].items()}


def failures(report: dict[str, Any], layer: str) -> list[dict[str, Any]]:
    return report["layers"][layer]["failures"]


def test_clean_import_passes_every_layer(
    imported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = run_validate(imported, tmp_path)

    assert statuses(report) == dict.fromkeys(("counts", "samples", "references", "types"), "pass")
    assert code == 0
    counts = report["layers"]["counts"]["counts"]
    documents = sum(len(docs) for name, docs in nextcrm().items() if name != "SomethingElse")
    assert counts["documents"] == documents
    # Skipped: the section of no board (logged), MyAccount (kept whole), the secrets.
    assert (counts["imported"], counts["skipped"], counts["failed"], counts["missing"]) == (
        documents - 3,
        3,
        0,
        0,
    )
    assert report["unknown_collections"] == ["SomethingElse"]
    samples = report["layers"]["samples"]["counts"]
    assert (samples["rows_compared"], samples["aliases"], samples["not_imported"]) == (10, 1, 1)
    refs = report["layers"]["references"]["counts"]
    # Claims from either side: Han's and the deal's (twice), the merged user's watching.
    assert (refs["links_checked"], refs["links_missing"]) == (4, 0)
    assert refs["foreign_keys_scanned"] > 50 and refs["dangling_rows"] == 0
    text = capsys.readouterr().out
    assert "seed 7" in text and "Result: PASS" in text
    assert "SomethingElse" in text and "not a NextCRM collection" in text


def test_changed_contact_email_fails_the_sample_naming_it(imported: Path, tmp_path: Path) -> None:
    sql(
        "UPDATE crm_contact SET email = 'evil@example.com' WHERE legacy_id = %s",
        [str(ZOE)],
    )

    code, report = run_validate(imported, tmp_path)

    assert code == 1
    assert statuses(report)["samples"] == "fail"
    assert statuses(report)["counts"] == statuses(report)["types"] == "pass"
    email, touched = sorted(failures(report, "samples"), key=lambda f: f["column"])
    assert email == {
        "collection": "crm_Contacts",
        "object_id": str(ZOE),
        "column": "email",
        "expected": "zoe@example.com",
        "actual": "evil@example.com",
    }
    # The row's updated_at trigger moved it: the row was changed after the import, too.
    assert (touched["object_id"], touched["column"]) == (str(ZOE), "updated_at")


def test_changed_notes_and_leftovers_fail_the_sample(imported: Path, tmp_path: Path) -> None:
    sql("UPDATE crm_note SET body = 'edited' WHERE legacy_id = %s", [f"{ZOE}:note:1"])
    sql(
        "DELETE FROM migrations_mongo_leftover WHERE object_id = %s", [str(ACME)]
    )  # member_of had no column: it lived only there

    sql(  # a note the source does not have, as if imported from a third entry of `notes`
        "INSERT INTO crm_note (id, legacy_id, body, contact_id, created_at, updated_at) "
        "SELECT gen_random_uuid(), %s, 'extra', id, now(), now() FROM crm_contact "
        "WHERE legacy_id = %s",
        [f"{ZOE}:note:2", str(ZOE)],
    )

    _, report = run_validate(imported, tmp_path)

    found = {(f["object_id"], f["column"]) for f in failures(report, "samples")}
    assert found == {
        (str(ZOE), f"crm_note[{ZOE}:note:1].body"),
        (str(ZOE), f"crm_note[{ZOE}:note:1].updated_at"),  # moved by the row's trigger
        (str(ZOE), f"crm_note[{ZOE}:note:2]"),
        (str(ACME), "(leftovers)"),
    }


def test_deleted_deal_contact_link_fails_references(imported: Path, tmp_path: Path) -> None:
    # Claimed by the deal's side only (connected_contacts).
    deleted = sql(
        "DELETE FROM crm_deal_contacts l USING crm_deal d, crm_contact c "
        "WHERE l.deal_id = d.id AND l.contact_id = c.id AND d.legacy_id = %s "
        "AND c.legacy_id = %s",
        [str(DEAL), str(ZOE)],
    )
    assert deleted == 1

    code, report = run_validate(imported, tmp_path)

    assert code == 1
    assert statuses(report) == {
        "counts": "pass",
        "samples": "pass",
        "references": "fail",
        "types": "pass",
    }
    assert failures(report, "references") == [
        {
            "collection": "crm_Opportunities",
            "object_id": str(DEAL),
            "column": "crm_deal_contacts",
            "expected": f"a link {DEAL} - {ZOE}",
            "actual": "no link row",
        }
    ]
    links = {row["link"]: row for row in report["layers"]["references"]["details"]["links"]}
    assert links["deal_contacts"]["missing"] == 1


def test_deleted_company_fails_counts(imported: Path, tmp_path: Path) -> None:
    assert sql("DELETE FROM crm_company WHERE legacy_id = %s", [str(LONELY)]) == 1

    code, report = run_validate(imported, tmp_path)

    assert code == 1
    assert statuses(report)["counts"] == "fail"
    assert failures(report, "counts") == [
        {
            "collection": "crm_Accounts",
            "object_id": str(LONELY),
            "column": "",
            "expected": "imported, or logged as skipped or failed",
            "actual": "no row, no alias, no log line",
        }
    ]
    assert {f["object_id"] for f in failures(report, "samples")} == {str(LONELY)}


def test_lost_log_line_of_a_skipped_document_fails_counts(imported: Path, tmp_path: Path) -> None:
    assert sql(
        "DELETE FROM migrations_mongo_importissue WHERE object_id = %s AND kind = 'skipped'",
        [str(LOST_SECTION)],
    )

    _, report = run_validate(imported, tmp_path)

    assert statuses(report)["counts"] == "fail"
    assert [f["object_id"] for f in failures(report, "counts")] == [str(LOST_SECTION)]
    # The sample converts it again, sees that it must be skipped, and finds no log line.
    assert [(f["object_id"], f["actual"]) for f in failures(report, "samples")] == [
        (str(LOST_SECTION), "no log line")
    ]


def test_failed_document_fails_counts_with_its_reason(imported: Path, tmp_path: Path) -> None:
    sql("DELETE FROM crm_company WHERE legacy_id = %s", [str(LONELY)])
    sql(
        "INSERT INTO migrations_mongo_importissue "
        "(collection, object_id, field, kind, reason, created_at) "
        "VALUES ('crm_Accounts', %s, '', 'failed', 'refused by the database: boom', now())",
        [str(LONELY)],
    )

    _, report = run_validate(imported, tmp_path)

    assert report["layers"]["counts"]["counts"]["failed"] == 1
    assert failures(report, "counts")[0]["actual"] == "failed: refused by the database: boom"
    # Layer 2 accepts a logged failure: the document is accounted for, just not imported.
    assert statuses(report)["samples"] == "pass"


def test_invalid_choice_fails_types(imported: Path, tmp_path: Path) -> None:
    sql("UPDATE crm_company SET type = 'Customer' WHERE legacy_id = %s", [str(VENDOR)])

    _, report = run_validate(imported, tmp_path)

    assert statuses(report)["types"] == "fail"
    [failure] = failures(report, "types")
    assert failure["collection"] == "crm_company"
    assert (failure["object_id"], failure["column"], failure["actual"]) == (
        str(VENDOR),
        "type",
        "Customer",
    )


def test_dangling_foreign_key_fails_references(imported: Path, tmp_path: Path) -> None:
    if not sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0][0]:
        pytest.skip("switching foreign key checks off needs a superuser")
    # Foreign keys are enforced by triggers, which replica mode skips: the only way to make
    # one dangle, which is what the layer guards against (a restore, a manual fix).
    sql("SET session_replication_role = replica")
    try:
        sql(
            "UPDATE crm_contact SET company_id = gen_random_uuid() WHERE legacy_id = %s",
            [str(HAN)],
        )
    finally:
        sql("SET session_replication_role = DEFAULT")

    _, report = run_validate(imported, tmp_path)

    found = {
        (f["collection"], f["object_id"], f["column"]) for f in failures(report, "references")
    }
    assert found == {
        ("crm_Contacts", str(HAN), "company_id"),  # not what the source says
        ("crm_contact", str(HAN), "company_id"),  # and points at no company
    }


@pytest.fixture
def generated(tmp_path: Path, settings: Any) -> tuple[Path, dict[str, Any]]:
    """The fake NextCRM dump (every collection and quirk), imported."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.BCryptPasswordHasher",
    ]
    dump = tmp_path / "generated"
    manifest = generate_dump(dump, contacts=200, seed=0)
    try:
        call_command("migrate_from_mongo", dump=str(dump), quiet=True, error_log=os.devnull)
    except SystemExit as exit_:  # 2: documents failed, which none of this dump's should
        pytest.fail(f"migrate_from_mongo exited with {exit_.code}")
    return dump, manifest


def test_generated_dump_passes_every_layer(
    generated: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    dump, manifest = generated

    code, report = run_validate(dump, tmp_path, sample=1000)

    assert code == 0, [layer["failures"] for layer in report["layers"].values()]
    counts = report["layers"]["counts"]["counts"]
    assert counts["documents"] == sum(manifest["counts"].values())
    assert counts["failed"] == counts["missing"] == 0
    # Every m2m mode of the manifest (one side only, disagreeing sides, both) was checked.
    assert report["layers"]["references"]["counts"]["links_checked"] > 200


def test_live_server_is_validated_through_the_driver(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client = mongomock.MongoClient(tz_aware=True)
    monkeypatch.setattr(sources, "MongoClient", lambda *a, **kw: client)
    for name, docs in nextcrm().items():
        client["nextcrm"][name].insert_many(docs)
    uri = "mongodb://reader:s3cret@db.example:27017/nextcrm"
    call_command("migrate_from_mongo", mongo_uri=uri, quiet=True, error_log=os.devnull)
    out = tmp_path / "live.json"

    call_command("validate_mongo_migration", mongo_uri=uri, json=str(out), verbosity=0)

    report = json.loads(out.read_text())
    assert report["status"] == "pass"
    assert report["source"] == "mongodb://db.example:27017/nextcrm"  # never the password
    assert report["unknown_collections"] == ["SomethingElse"]


def test_same_seed_samples_the_same_documents() -> None:
    def draw(seed: int) -> list[int]:
        reservoir = Reservoir(10, random.Random(seed))
        for item in range(10_000):
            reservoir.add(item)
        return reservoir.items

    assert draw(3) == draw(3) != draw(4)
    assert len(draw(3)) == len(set(draw(3))) == 10
    small = Reservoir(10, random.Random(0))
    for item in range(4):
        small.add(item)
    assert small.items == [0, 1, 2, 3]


def test_seed_is_chosen_and_printed_when_not_given(
    imported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = run_validate(imported, tmp_path, seed=None, sample=2)

    assert code == 0
    assert f"--seed {report['seed']}" in capsys.readouterr().out


def test_unreadable_source_is_a_command_error(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "Users.bson").write_bytes(b"\x05\x00")

    with pytest.raises(CommandError, match=r"Users\.bson"):
        call_command("validate_mongo_migration", dump=str(dump), verbosity=0)
