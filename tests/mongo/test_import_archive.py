"""`--dump FILE` with a `mongodump --archive` file: the same import as from the folder, one
database out of several, nothing of the credential collections on disk, and resuming after a
crash (docs/migrating-from-mongodb.md, "Archives"). Damaged archives: test_archive_errors.py."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import bson
import psycopg
import pytest
from bson import ObjectId
from django.core.management import CommandError, call_command
from django.db import connection

from crm.models import Company, Contact
from migrations_mongo import archive, crc64
from migrations_mongo.archive import ArchiveSource
from migrations_mongo.fakedump import generate_dump
from migrations_mongo.models import CollectionState
from migrations_mongo.pipeline import Importer, SourceChanged
from migrations_mongo.sources import DumpSource
from tests.mongo.mongo_helpers import (
    Crash,
    crash_at,
    crc64_ecma,
    database_snapshot,
    folder_to_archive,
    import_process,
    kill_inside_contacts,
    wipe,
    wipe_import,
    write_archive,
)

pytestmark = pytest.mark.django_db


def snapshot() -> dict[str, list[str]]:
    """The import's tables, less the checkpoints' `source`: it names the folder or the archive."""
    with connection.cursor() as cursor:
        tables = database_snapshot(cursor)
    states = [json.loads(row) for row in tables["migrations_mongo_collectionstate"]]
    assert states and all(state.pop("source") for state in states)
    tables["migrations_mongo_collectionstate"] = sorted(json.dumps(s) for s in states)
    return tables


def encoded(docs: list[dict]) -> list[bytes]:
    return [bson.encode(doc) for doc in docs]


def companies(n: int, prefix: str = "Company") -> list[dict]:
    return [{"_id": ObjectId(), "name": f"{prefix} {i}"} for i in range(n)]


def test_the_crc_is_go_crc64_ecma_across_chunks(monkeypatch) -> None:
    # Go's own golden values (hash/crc64/crc64_test.go, outECMA), and CRC-64/XZ's check value.
    assert crc64.crc64_update(0, b"a") == 0x330284772E652B05
    assert crc64.crc64_update(0, b"abc") == 0x2CD8094A1A277627
    assert crc64.crc64_update(0, b"abcdef") == 0xD08E9F8545A700F4
    assert crc64.crc64_update(0, b"123456789") == 0x995DC9BBDF1939FA
    data = os.urandom(70_000)
    for size in (0, 1, 7, 31, 32, 33, 255, 4097, 70_000):
        assert crc64.crc64_update(0, data[:size]) == crc64_ecma(data[:size])
    monkeypatch.setattr(crc64, "CHUNK", 1000)  # fed in pieces that cross chunk boundaries
    running = crc64.Crc64()
    for start in range(0, len(data), 777):
        running.update(data[start : start + 777])
    assert running.value() == crc64_ecma(data)


def test_an_archive_imports_exactly_the_rows_of_its_folder(nextcrm, tmp_path, run_import):
    assert run_import(nextcrm) == 0
    from_folder = snapshot()
    # Interleaved one document at a time, then in runs of 40 and gzipped (mongodump --gzip
    # --archive); the file names say nothing: the gzip is found by its magic bytes.
    for name, options in [("one.archive", {"run": 1}), ("two.bin", {"run": 40, "gz": True})]:
        wipe()
        archive = folder_to_archive(nextcrm, tmp_path / name, **options)
        assert run_import(archive) == 0
        assert snapshot() == from_folder
        state = CollectionState.objects.get(collection="crm_Contacts")
        assert state.source.startswith(f"{archive} (") and "nextcrm.crm_Contacts" in state.source


def test_the_folder_of_an_archive_holds_the_files_mongodump_out_writes(tmp_path) -> None:
    # In runs of 2: accounts and contacts alternate block by block, as mongodump interleaves.
    accounts, contacts = encoded(companies(5)), encoded(companies(3, "Contact of"))
    meta = '{"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}}}]}'
    secret = {"_id": ObjectId(), "serviceKey": "sk-live-do-not-copy"}
    archive = write_archive(
        tmp_path / "a.archive",
        {
            ("nextcrm", "crm_Accounts"): accounts,
            ("nextcrm", "crm_Contacts"): contacts,
            ("nextcrm", "ImageUpload"): [],
            ("nextcrm", "systemServices"): encoded([secret]),
        },
        metadata={("nextcrm", "crm_Accounts"): meta},
        run=2,
    )
    source = ArchiveSource(archive)
    folder = source.folder
    assert source.collections() == [
        "ImageUpload",
        "crm_Accounts",
        "crm_Contacts",
        "systemServices",
    ]
    assert (folder / "crm_Accounts.bson").read_bytes() == b"".join(accounts)
    assert (folder / "crm_Contacts.bson").read_bytes() == b"".join(contacts)
    assert (folder / "crm_Accounts.metadata.json").read_text() == meta
    assert (folder / "ImageUpload.bson").read_bytes() == b""
    # Credentials (quirk Q12) are counted by their _ids; not one of their values is written.
    assert (folder / "systemServices.bson").read_bytes() == bson.encode({"_id": secret["_id"]})
    assert source.count("systemServices") == 1
    again = ArchiveSource(archive)  # a re-run: another folder, the same bytes
    assert again.folder != folder
    for name in ("crm_Accounts", "crm_Contacts", "systemServices"):
        path = f"{name}.bson"
        assert (again.folder / path).read_bytes() == (folder / path).read_bytes()
    source.close()
    assert not folder.exists()
    source.close()  # twice is harmless
    again_folder = again.folder
    with pytest.warns(ResourceWarning, match="Implicitly cleaning up"):
        del again  # collected without close(): its folder goes too, and Python says so
    assert not again_folder.exists()


def test_an_archive_counts_its_collections_while_unpacking(nextcrm, tmp_path) -> None:
    source = ArchiveSource(folder_to_archive(nextcrm, tmp_path / "a.archive", run=7, gz=True))
    counts = {name: source.count(name) for name in source.collections()}
    assert counts == {name: DumpSource(nextcrm).count(name) for name in counts}
    assert counts["crm_Contacts"] == 120 and source.count("no such collection") == 0
    for path in source.folder.glob("*.bson"):
        path.unlink()  # the progress bar's total needs no second pass over the files
    assert {name: source.count(name) for name in counts} == counts
    source.close()


def test_a_collection_name_cannot_write_outside_the_folder(tmp_path) -> None:
    archive = write_archive(
        tmp_path / "a.archive", {("nextcrm", "../../escape"): encoded(companies(1))}
    )
    source = ArchiveSource(archive)
    assert [p.name for p in source.folder.iterdir()] == ["..%2F..%2Fescape.bson"]
    assert not (tmp_path / "escape.bson").exists()


def test_one_database_of_several_is_named_with_database(tmp_path, run_import) -> None:
    ours, theirs = companies(3, "Ours"), companies(4, "Theirs")
    archive = write_archive(
        tmp_path / "server.archive",
        {
            ("admin", "system.version"): encoded([{"_id": "featureCompatibilityVersion"}]),
            ("nextcrm", "crm_Accounts"): encoded(ours),
            ("staging", "crm_Accounts"): encoded(theirs),
            ("nextcrm", "crm_Contacts"): encoded(
                [{"_id": ObjectId(), "last_name": "Doe", "accountsIDs": ours[1]["_id"]}]
            ),
        },
        run=1,
    )
    with pytest.raises(CommandError, match=r"holds 2 databases \(nextcrm, staging\): name"):
        run_import(archive)
    with pytest.raises(CommandError, match=r"no database crm in the archive \(it holds: admin"):
        run_import(archive, database="crm")
    assert run_import(archive, database="nextcrm") == 0
    assert sorted(Company.objects.values_list("name", flat=True)) == ["Ours 0", "Ours 1", "Ours 2"]
    assert Contact.objects.get().company.name == "Ours 1"
    # The validator takes the same source options (it exits with 1 when a layer fails).
    report = tmp_path / "report.json"
    call_command(
        "validate_mongo_migration", dump=str(archive), database="nextcrm", json=str(report)
    )
    result = json.loads(report.read_text())
    assert result["status"] == "pass"
    assert result["source"] == f"archive {archive} (database nextcrm)"


def test_the_only_database_besides_mongodbs_own_is_taken(tmp_path, run_import, capsys) -> None:
    archive = write_archive(
        tmp_path / "server.archive",
        {
            ("admin", "system.users"): encoded([{"_id": "admin.root", "user": "root"}]),
            ("nextcrm", "crm_Accounts"): encoded(companies(2)),
            ("config", "system.sessions"): [],
        },
    )
    assert run_import(archive) == 0
    assert Company.objects.count() == 2
    assert f"Imported from archive {archive} (database nextcrm)" in capsys.readouterr().out


def importer(archive: Path, **kwargs) -> Importer:
    return Importer(ArchiveSource(archive), batch_size=7, progress=None, **kwargs)


@pytest.mark.parametrize(("step", "after"), [("rows", 4), ("state", 15), ("links", 9)])
def test_a_crashed_archive_import_resumes_without_duplicates_or_gaps(
    nextcrm, tmp_path, step, after
) -> None:
    archive = folder_to_archive(nextcrm, tmp_path / "nextcrm.archive", run=5, gz=True)
    importer(archive).run()
    uninterrupted = snapshot()
    wipe()
    with pytest.raises(Crash):
        importer(archive, hook=crash_at(step, after)).run()
    assert CollectionState.objects.filter(done=False).exists()
    importer(archive).run()  # a new process would demultiplex into a new folder: so does this
    assert snapshot() == uninterrupted


def test_an_archive_replaced_at_the_same_path_is_another_source(tmp_path) -> None:
    path = tmp_path / "nextcrm.archive"
    write_archive(path, {("nextcrm", "crm_Accounts"): encoded(companies(5, "Alpha"))})
    with pytest.raises(Crash):
        importer(path, hook=crash_at("state", 1)).run()
    before = path.stat()
    write_archive(path, {("nextcrm", "crm_Accounts"): encoded(companies(5, "Omega"))})
    # A real replacement comes later; the test's two writes may share a clock tick.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    with pytest.raises(SourceChanged, match="--restart"):
        importer(path).run()


@pytest.mark.django_db(transaction=True)
def test_kill_9_mid_archive_import_then_run_again_gives_the_uninterrupted_result(
    fresh_database_url, tmp_path
) -> None:
    folder = tmp_path / "nextcrm"
    generate_dump(folder, contacts=800, seed=3)
    archive = folder_to_archive(folder, tmp_path / "nextcrm.archive.gz", run=50, gz=True)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    command, env = import_process(
        fresh_database_url, archive, tmp_path / "log.jsonl", TMPDIR=str(scratch)
    )
    subprocess.run(command, env=env, timeout=300, check=True)
    assert list(scratch.iterdir()) == []  # a finished run removes its folder
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        uninterrupted = database_snapshot(conn.cursor())
        wipe_import(conn.cursor())
        kill_inside_contacts(conn, command, env, at=200)
        assert 0 < conn.execute("SELECT count(*) FROM crm_contact").fetchone()[0] < 800
        left = list(scratch.iterdir())  # a kill leaves its folder: the docs say to delete it
        assert len(left) == 1 and left[0].name.startswith("minicrm-archive-")
        subprocess.run(command, env=env, timeout=300, check=True)
        assert database_snapshot(conn.cursor()) == uninterrupted
        assert list(scratch.iterdir()) == left


def test_the_commands_delete_the_unpacked_folder_when_they_end(tmp_path, scratch, run_import):
    # Even while the exception that ended the run is still held (its traceback keeps the
    # command's frame, and so its source, alive): the folder goes in the commands' `finally`.
    path = tmp_path / "nextcrm.archive"
    write_archive(path, {("nextcrm", "crm_Accounts"): encoded(companies(5, "Alpha"))})
    with pytest.raises(SystemExit) as failed:  # nothing imported yet: the counts differ
        call_command("validate_mongo_migration", dump=str(path), verbosity=0)
    assert failed.value.code == 1
    assert list(scratch.iterdir()) == []
    with pytest.raises(Crash):
        importer(path, hook=crash_at("state", 1)).run()
    write_archive(path, {("nextcrm", "crm_Accounts"): encoded(companies(6, "Omega"))})
    with pytest.raises(CommandError, match="--restart") as refused:
        run_import(path)
    assert "is for" in str(refused.value)
    assert list(scratch.iterdir()) == []
    assert run_import(path, restart=True) == 0
    assert list(scratch.iterdir()) == []


def test_unpacking_reports_on_the_commands_stdout_by_verbosity(tmp_path, monkeypatch, settings):
    monkeypatch.setattr(archive, "_REPORT_EVERY", 1000)  # a line per KB instead of per 64 MB
    path = write_archive(
        tmp_path / "nextcrm.archive",
        {("nextcrm", "crm_Accounts"): encoded(companies(40)), ("nextcrm", "Users"): []},
    )
    log = str(tmp_path / "log.jsonl")

    def run(command: str, **options) -> str:
        out = io.StringIO()
        call_command(command, dump=str(path), stdout=out, stderr=io.StringIO(), **options)
        return out.getvalue()

    lines = run("migrate_from_mongo", error_log=log).splitlines()
    into = Path(tempfile.gettempdir()) / "minicrm-archive-"
    assert lines[0].startswith(f"Unpacking {path} (database nextcrm) into {into}")
    percents = [line for line in lines if line.endswith(" MB unpacked")]
    assert len(percents) >= 2
    assert all(re.fullmatch(r"  \d+% read, 0 MB unpacked", line) for line in percents)
    assert "Unpacked 40 documents of 2 collections in " in lines[len(percents) + 1]
    assert not any("crm_Accounts: 40 documents" in line for line in lines)  # -v 2 only
    verbose = run("migrate_from_mongo", error_log=log, verbosity=2)
    assert "  nextcrm.crm_Accounts: 40 documents\n" in verbose
    assert "Unpack" not in run("migrate_from_mongo", error_log=log, quiet=True)
    assert "Unpack" not in run("migrate_from_mongo", error_log=log, verbosity=0)
    assert "Unpacked 40 documents" in run("validate_mongo_migration", sample=0)
    assert "Unpack" not in run("validate_mongo_migration", sample=0, verbosity=0)
