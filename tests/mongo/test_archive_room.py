"""The free-space check before an archive is unpacked: it refuses a run that clearly cannot fit
in TMPDIR, counts what the folder will take rather than every byte of the archive, and says how
much is needed, how much is free, where, and how to point TMPDIR elsewhere
(docs/migrating-from-mongodb.md, "Archives"). Real archives; only the free-space reading is faked.
"""

from __future__ import annotations

import gzip
import os
import shutil
from types import SimpleNamespace

import bson
import pytest
from bson import ObjectId

from migrations_mongo.archive import ArchiveSource
from migrations_mongo.sources import SourceError
from tests.mongo.mongo_helpers import write_archive

MB = 1024 * 1024


def fake_free(monkeypatch, free: int) -> None:
    """The free space every disk_usage() reports from now on; the disk itself is untouched."""
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(free=free))


def accounts(n: int, size: int = 100_000) -> list[bytes]:
    """n companies of about `size` bytes each (random hex: gzip cannot shrink it to nothing)."""
    return [
        bson.encode(
            {"_id": ObjectId(), "name": f"Company {i}", "notes": os.urandom(size // 2).hex()}
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_an_archive_that_clearly_cannot_fit_is_refused_before_unpacking(
    tmp_path, scratch, monkeypatch, gz
) -> None:
    path = write_archive(
        tmp_path / "nextcrm.archive", {("nextcrm", "crm_Accounts"): accounts(20)}, gz=gz
    )
    fake_free(monkeypatch, 1 * MB)
    with pytest.raises(SourceError) as refused:
        ArchiveSource(path)
    # About 1.9 MB of documents (a gzip's from its trailer), against 1 MB free.
    assert str(refused.value).startswith(
        f"about 1.9 MB needed to unpack database nextcrm, 1.0 MB free in {scratch}: "
        "set TMPDIR to a folder on a disk with room (TMPDIR=/path/with/room python manage.py "
    )
    assert list(scratch.iterdir()) == []


def test_what_is_never_written_does_not_refuse_a_run_that_fits(tmp_path, scratch, monkeypatch):
    # MongoDB's own databases and the credential documents are in the archive, never in the
    # folder (a credential document becomes its _id): a TMPDIR with exactly the room the folder
    # takes is enough, though the archive is bigger.
    path = write_archive(
        tmp_path / "server.archive",
        {
            ("admin", "system.users"): accounts(1),
            ("nextcrm", "crm_Accounts"): accounts(20),
            ("nextcrm", "openAi_keys"): accounts(1),
        },
    )
    source = ArchiveSource(path)
    taken = sum(file.stat().st_size for file in source.folder.iterdir())
    source.close()
    assert taken < path.stat().st_size - 150_000
    fake_free(monkeypatch, taken)
    ArchiveSource(path).close()
    fake_free(monkeypatch, taken // 2)  # while half of it is refused
    with pytest.raises(SourceError, match=r"about 2\.\d MB needed .* [.\d]+ MB free in "):
        ArchiveSource(path)
    assert list(scratch.iterdir()) == []


def test_with_another_database_the_archive_says_nothing_of_ones_size(
    tmp_path, scratch, monkeypatch
) -> None:
    # Its share of the archive could be anything: no check, and the run goes on.
    path = write_archive(
        tmp_path / "two.archive",
        {("nextcrm", "crm_Accounts"): accounts(3), ("other", "x"): accounts(20)},
    )
    fake_free(monkeypatch, 0)
    source = ArchiveSource(path, "nextcrm")
    assert source.count("crm_Accounts") == 3
    source.close()


def test_a_gzip_cut_short_is_named_as_cut_not_as_too_big(tmp_path, scratch, monkeypatch):
    # Its last four bytes are compressed data, not the uncompressed size: deflate packs at most
    # 1032 bytes into one, and these say far more. The reading finds the cut.
    docs = [bson.encode({"_id": ObjectId(f"{i:024x}"), "name": f"Company {i}"}) for i in range(3)]
    whole = write_archive(tmp_path / "whole.archive", {("nextcrm", "crm_Accounts"): docs})
    path = tmp_path / "cut.archive.gz"
    path.write_bytes(gzip.compress(whole.read_bytes(), mtime=0)[:-30])
    assert int.from_bytes(path.read_bytes()[-4:], "little") > 1032 * path.stat().st_size
    fake_free(monkeypatch, 0)
    with pytest.raises(SourceError, match=r"cut.archive.gz \(gzip\): .* uncompressed stream"):
        ArchiveSource(path)
    assert list(scratch.iterdir()) == []
