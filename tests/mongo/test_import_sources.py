"""Both sources (a mongodump folder, a live server), bad files, failing documents, and a real
kill -9 in the middle of an import."""

from __future__ import annotations

import gzip
import os
import subprocess

import bson
import mongomock
import psycopg
import pytest
from bson import ObjectId
from django.core.management import CommandError, call_command

from crm.models import Company, Contact
from migrations_mongo import crc64, options, sources
from migrations_mongo.mapping import BY_COLLECTION, SPECS, Spec
from migrations_mongo.models import ImportIssue
from tests.mongo.mongo_helpers import (
    database_snapshot,
    import_process,
    kill_inside_contacts,
    wipe_import,
    write_archive,
    write_bson,
)

pytestmark = pytest.mark.django_db


def companies(n: int) -> list[dict]:
    return [{"_id": ObjectId(), "name": f"Company {i}", "status": "Active"} for i in range(n)]


def test_gzipped_files_in_a_database_subfolder(tmp_path, run_import) -> None:
    folder = tmp_path / "dump" / "nextcrm"  # mongodump --out dump --gzip
    folder.mkdir(parents=True)
    with gzip.open(folder / "crm_Accounts.bson.gz", "wb") as out:
        for doc in companies(5):
            out.write(bson.encode(doc))
    (folder / "crm_Accounts.metadata.json.gz").write_bytes(b"")
    assert run_import(tmp_path / "dump") == 0
    assert Company.objects.count() == 5


def test_database_picks_one_database_folder_of_a_mongodump_out_folder(tmp_path, run_import):
    # mongodump --out dump of a whole server: dump/<database>/ each. As with an archive of
    # several, --database names the one to import; a database folder under another name is
    # refused rather than imported as if it were the one named.
    for name, n in [("nextcrm", 3), ("staging", 4)]:
        write_bson(tmp_path / "dump" / name, "crm_Accounts", companies(n))
    with pytest.raises(CommandError, match=r"2 database folders of them \(nextcrm, staging\)"):
        run_import(tmp_path / "dump")
    with pytest.raises(CommandError, match=r"no database folder crm \(it holds: nextcrm, stag"):
        run_import(tmp_path / "dump", database="crm")
    with pytest.raises(CommandError, match=r"staging: holds the .bson files of one database, not"):
        run_import(tmp_path / "dump" / "staging", database="nextcrm")
    assert Company.objects.count() == 0
    assert run_import(tmp_path / "dump", database="nextcrm") == 0
    assert Company.objects.count() == 3
    # The same folder named directly, with or without its name: the same source, nothing new.
    assert run_import(tmp_path / "dump" / "nextcrm", database="nextcrm") == 0
    assert run_import(tmp_path / "dump" / "nextcrm") == 0
    assert Company.objects.count() == 3


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda data, second: data[:-7],
            r"found the end of the file 54 bytes into a 61-byte document \(cut short\?\)",
        ),
        (
            # The second document's length field.
            lambda data, second: data[:second] + b"\xff\xff\xff\x7f" + data[second + 4 :],
            "at byte {second}: expected a document, found 2147483647, not a BSON length",
        ),
        (
            lambda data, second: data[:-1] + b"\x07",
            "at byte 122: expected a document, found a 61-byte document not ending in NUL",
        ),
        (lambda data, second: data[:-2] + b"\x07\x00", "document 3 is not valid BSON"),
    ],
)
def test_a_corrupt_bson_file_is_a_clear_error_naming_it(dump, run_import, damage, message):
    path = write_bson(dump(), "crm_Accounts", companies(3))
    data = path.read_bytes()
    second = int.from_bytes(data[:4], "little")
    path.write_bytes(damage(data, second))
    with pytest.raises(CommandError, match=message.format(second=second)) as error:
        run_import(path.parent)
    assert str(error.value).startswith(f"{path}: ")


def test_the_size_limit_is_mongodbs_for_folders_and_archives_alike(tmp_path) -> None:
    # A document of exactly 16 MiB is read from a folder and from an archive; one byte more is
    # refused by both, as mongorestore refuses it.
    for size, readable in [(sources.MAX_DOCUMENT, True), (sources.MAX_DOCUMENT + 1, False)]:
        doc = {"_id": ObjectId(), "name": "big", "blob": b""}
        doc["blob"] = b"x" * (size - len(bson.encode(doc)))
        data = bson.encode(doc)
        assert len(data) == size
        folder = tmp_path / str(size)
        write_bson(folder, "crm_Accounts", [doc])
        archive = write_archive(
            tmp_path / f"{size}.archive",
            {("nextcrm", "crm_Accounts"): [data]},
            crc=lambda data, crc: crc64.crc64_update(crc, data),  # checked in test_import_archive
        )
        for path in (folder, archive):
            if readable:
                source = options.source_from_options({"dump": str(path), "database": ""})
                assert [d["_id"] for d in source.documents("crm_Accounts")] == [doc["_id"]]
            else:
                with pytest.raises(sources.SourceError, match=f"found {size}, not a BSON length"):
                    source = options.source_from_options({"dump": str(path), "database": ""})
                    list(source.documents("crm_Accounts"))  # a folder is read when imported


def test_a_corrupt_gzip_file_is_a_clear_error(dump, run_import) -> None:
    folder = dump()
    data = gzip.compress(b"".join(bson.encode(doc) for doc in companies(3)))
    (folder / "crm_Accounts.bson.gz").write_bytes(data[:-30])
    with pytest.raises(CommandError, match=r"crm_Accounts\.bson\.gz: cannot be read"):
        run_import(folder)
    # Damaged inside its compressed data (zlib's own error, neither an OSError nor EOFError):
    # the first block's type (bits 1-2 of the byte after the 10-byte header) made the reserved 3.
    damaged = bytearray(data)
    damaged[10] |= 0b110
    (folder / "crm_Accounts.bson.gz").write_bytes(damaged)
    with pytest.raises(CommandError, match=r"crm_Accounts\.bson\.gz: cannot be read \(Error"):
        run_import(folder, restart=True)  # the first run left its checkpoint for the cut file


def test_a_bad_length_in_a_gzip_file_is_named_by_its_uncompressed_offset(dump, run_import):
    folder = dump()
    docs = [bson.encode(doc) for doc in companies(3)]
    data = docs[0] + b"\xff\xff\xff\x7f" + docs[1][4:] + docs[2]
    (folder / "crm_Accounts.bson.gz").write_bytes(gzip.compress(data))
    with pytest.raises(CommandError) as error:
        run_import(folder)
    assert str(error.value).startswith(
        f"{folder / 'crm_Accounts.bson.gz'} (gzip): at byte {len(docs[0])} of the uncompressed "
        "stream: expected a document, found 2147483647, not a BSON length"
    )


def test_a_bson_file_starting_like_gzip_is_read_as_bson(tmp_path, dump, run_import) -> None:
    # A first document of exactly 559,903 bytes: its length, 1f 8b 08 00, is gzip's magic,
    # deflate and no flags. It is a whole BSON document, so the file is BSON; gzipped, gzip.
    big = {"_id": ObjectId(), "name": "Big", "description": ""}
    big["description"] = "x" * (559_903 - len(bson.encode(big)))
    docs = [big, *companies(2)]
    path = write_bson(dump(), "crm_Accounts", docs)
    assert path.read_bytes()[:4] == b"\x1f\x8b\x08\x00"
    for mtime in (0, None):  # Go's gzip writes 0; Python's, the time
        folder = tmp_path / f"gzip-{mtime}"
        folder.mkdir()
        packed = gzip.compress(path.read_bytes(), mtime=mtime)
        (folder / "crm_Accounts.bson.gz").write_bytes(packed)
        assert packed[:4] == b"\x1f\x8b\x08\x00"
        source = options.source_from_options({"dump": str(folder), "database": ""})
        assert [doc["_id"] for doc in source.documents("crm_Accounts")] == [d["_id"] for d in docs]
    assert run_import(path.parent) == 0
    assert Company.objects.get(name="Big").description == big["description"]
    assert Company.objects.count() == 3


def test_gzip_is_told_by_its_bytes_not_the_files_name(dump, run_import) -> None:
    # As an archive's is: one rule. A plain file named .gz is read as plain BSON, and the reverse.
    folder = dump()
    docs = b"".join(bson.encode(doc) for doc in companies(4))
    (folder / "crm_Accounts.bson.gz").write_bytes(docs)
    (folder / "crm_Contacts.bson").write_bytes(
        gzip.compress(bson.encode({"_id": ObjectId(), "last_name": "Doe"}))
    )
    assert run_import(folder) == 0
    assert Company.objects.count() == 4 and Contact.objects.count() == 1


def test_a_document_the_database_refuses_fails_alone(dump, run_import, monkeypatch) -> None:
    docs = companies(6)
    bad = docs[3]["_id"]
    spec = BY_COLLECTION["crm_Accounts"]

    def convert(doc):
        row = spec.convert(doc)
        if doc.oid == str(bad):
            row["annual_revenue"] = -1  # company_revenue_non_negative refuses it
        return row

    patched = Spec(**{**spec.__dict__, "convert": convert})
    monkeypatch.setattr(
        "migrations_mongo.pipeline.SPECS", [patched if s is spec else s for s in SPECS]
    )
    assert run_import(dump(crm_Accounts=docs)) == 2  # finished, with failed documents
    assert Company.objects.count() == 5
    failure = ImportIssue.objects.get(kind="failed")
    assert failure.object_id == str(bad) and "company_revenue_non_negative" in failure.reason
    assert failure.value["name"] == "Company 3"  # the whole document, so nothing is lost


def test_a_live_server_is_read_through_the_driver_and_resumes_by_id(monkeypatch, settings):
    client = mongomock.MongoClient()
    monkeypatch.setattr(sources, "MongoClient", lambda *a, **kw: client)
    db = client["nextcrm"]
    first = companies(5)
    db["crm_Accounts"].insert_many(first)
    db["crm_Contacts"].insert_one(
        {"_id": ObjectId(), "last_name": "Doe", "accountsIDs": first[0]["_id"]}
    )
    uri = "mongodb://reader:s3cret@db.example:27017/nextcrm"
    call_command("migrate_from_mongo", mongo_uri=uri, quiet=True, error_log=os.devnull)
    assert Company.objects.count() == 5
    assert Contact.objects.get().company.legacy_id == str(first[0]["_id"])
    # Documents added since are picked up after the last imported _id, the rest untouched.
    db["crm_Accounts"].insert_many(companies(3))
    call_command("migrate_from_mongo", mongo_uri=uri, quiet=True, error_log=os.devnull)
    assert Company.objects.count() == 8
    from migrations_mongo.models import CollectionState

    state = CollectionState.objects.get(collection="crm_Accounts")
    assert state.imported == 8 and "s3cret" not in state.source


def test_a_live_uri_without_a_database_is_refused() -> None:
    with pytest.raises(CommandError, match="names no database"):
        call_command(
            "migrate_from_mongo",
            mongo_uri="mongodb://localhost:27017/",
            quiet=True,
            error_log=os.devnull,
        )


@pytest.mark.django_db(transaction=True)
def test_kill_9_mid_import_then_run_again_gives_the_uninterrupted_result(
    fresh_database_url, tmp_path
) -> None:
    from migrations_mongo.fakedump import generate_dump

    folder = tmp_path / "nextcrm"
    generate_dump(folder, contacts=1500, seed=3)
    command, env = import_process(fresh_database_url, folder, tmp_path / "log.jsonl")
    subprocess.run(command, env=env, timeout=300, check=False)
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        uninterrupted = database_snapshot(conn.cursor())
        wipe_import(conn.cursor())
        kill_inside_contacts(conn, command, env, at=300)
        partial = conn.execute("SELECT count(*) FROM crm_contact").fetchone()[0]
        assert 0 < partial < 1500
        subprocess.run(command, env=env, timeout=300, check=False)
        assert database_snapshot(conn.cursor()) == uninterrupted
