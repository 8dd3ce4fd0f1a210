"""A damaged `mongodump --archive` file stops the run before anything is imported, with an error
that names the file, the byte offset and what was expected there; nothing is left in TMPDIR."""

from __future__ import annotations

import gzip
import io
import re
import tempfile
from pathlib import Path

import bson
import pytest
from bson import ObjectId
from django.core.management import CommandError

from crm.models import Company
from tests.mongo.mongo_helpers import ArchiveWriter, write_bson

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def scratch(tmp_path: Path, monkeypatch) -> Path:
    """TMPDIR for these tests, to see that a failed run leaves nothing in it."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def archive_layout() -> tuple[bytes, dict[str, int]]:
    """nextcrm.crm_Accounts (3 companies) then nextcrm.Users (1 user), and where each part
    starts: prelude | header a0 a1 a2 | T | EOF T | header u0 | T | EOF T."""
    out = io.BytesIO()
    writer = ArchiveWriter(out, [("nextcrm", "crm_Accounts", ""), ("nextcrm", "Users", "")])
    at = {}
    for i in range(3):
        doc = bson.encode({"_id": ObjectId(), "name": f"Company {i}"})
        writer.write("nextcrm", "crm_Accounts", doc)
        at[f"a{i}"] = out.tell() - len(doc)
    at["accounts_terminator"] = out.tell()
    writer.eof("nextcrm", "crm_Accounts")
    at["users_block"] = out.tell()
    writer.write("nextcrm", "Users", bson.encode({"_id": ObjectId(), "email": "a@example.com"}))
    at["users_eof"] = out.tell() + 4  # after the data block's terminator
    writer.eof("nextcrm", "Users")
    return out.getvalue(), at


def length_at(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 4], "little")


def patch(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new) :]


ACCOUNT = "a document of nextcrm.crm_Accounts or its block's terminator"

# (what is wrong, how to damage the archive, the offset and the message the error must hold)
CASES = [
    (
        "not an archive",
        lambda data, at: b"PK\x03\x04" + data[4:],
        lambda data, at: (
            0,
            "expected the magic number 6d e2 99 81 of a mongodump --archive file "
            "(or give a folder), found 50 4b 03 04",
        ),
    ),
    (
        "cut inside a document",
        lambda data, at: data[: at["a1"] + 10],
        lambda data, at: (
            at["a1"],
            f"expected {ACCOUNT}, found the end of the file 10 bytes into a "
            f"{length_at(data, at['a1'])}-byte document (cut short?)",
        ),
    ),
    (
        "a length running past the end",
        lambda data, at: patch(data, at["a2"], (4096).to_bytes(4, "little")),
        lambda data, at: (at["a2"], "found the end of the file"),
    ),
    (
        "an impossible length",
        lambda data, at: patch(data, at["a1"], b"\xff\xff\xff\x7f"),
        lambda data, at: (
            at["a1"],
            f"expected {ACCOUNT}, found 2147483647, not a BSON length (5 bytes to 16 MiB) nor",
        ),
    ),
    (
        "a document that is not BSON",
        # The "name" element's type byte (0x02, a string) becomes an unknown type. Documents are
        # not decoded: the CRC finds it, at the collection's EOF header, naming where its
        # documents lie.
        lambda data, at: patch(data, data.index(b"\x02name\x00", at["a1"]), b"\x99"),
        lambda data, at: (
            at["accounts_terminator"] + 4,
            "of nextcrm.crm_Accounts's documents, found CRC 0x",
        ),
    ),
    (
        "a block without its terminator",
        lambda data, at: data[: at["accounts_terminator"]],
        lambda data, at: (at["accounts_terminator"], f"expected {ACCOUNT}, found the end of"),
    ),
    (
        "cut between blocks, before a collection's end",
        lambda data, at: data[: at["users_eof"]],
        lambda data, at: (
            at["users_eof"],
            "expected the rest of nextcrm.Users (up to an EOF header), found the end of the file",
        ),
    ),
    (
        "a collection announced and never seen",
        lambda data, at: data[: at["users_block"]],
        lambda data, at: (at["users_block"], "expected the rest of nextcrm.Users"),
    ),
    (
        "a value altered in place (the CRC)",
        lambda data, at: data.replace(b"Company 1", b"Company X", 1),
        lambda data, at: (
            at["accounts_terminator"] + 4,
            f"(its documents, within bytes {at['a0']}-{at['accounts_terminator']}: altered",
        ),
    ),
    (
        "a document after a collection's end",
        lambda data, at: (
            data[: at["users_block"] - 4]
            + data[at["a0"] : at["a1"]]
            + data[at["users_block"] - 4 :]
        ),
        lambda data, at: (at["users_block"] - 4, "after nextcrm.crm_Accounts's end, found a doc"),
    ),
]


@pytest.mark.parametrize(("damage", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_damaged_archive_names_the_byte_and_what_was_expected(
    tmp_path, scratch, run_import, damage, expected
) -> None:
    data, at = archive_layout()
    path = tmp_path / "nextcrm.archive"
    path.write_bytes(damage(data, at))
    offset, message = expected(data, at)
    with pytest.raises(CommandError) as error:
        run_import(path)
    assert str(error.value).startswith(f"{path}: at byte {offset}: ")
    assert message in str(error.value)
    assert Company.objects.count() == 0  # stopped before the import began
    assert list(scratch.iterdir()) == []  # the half-written folder is gone


def test_the_undamaged_layout_imports(tmp_path, run_import) -> None:
    data, _ = archive_layout()
    path = tmp_path / "nextcrm.archive"
    path.write_bytes(data)
    assert run_import(path) == 0
    assert Company.objects.count() == 3


def test_a_bson_file_is_not_an_archive(dump, run_import) -> None:
    path = write_bson(dump(), "crm_Accounts", [{"_id": ObjectId(), "name": "Solo"}])
    with pytest.raises(CommandError, match=r"at byte 0: expected the magic number .* found"):
        run_import(path)


def test_a_gzipped_archive_cut_short_is_a_clear_error(tmp_path, run_import) -> None:
    data, _ = archive_layout()
    path = tmp_path / "nextcrm.archive.gz"
    path.write_bytes(gzip.compress(data, mtime=0)[:-30])
    with pytest.raises(CommandError) as error:
        run_import(path)
    # Named as every damage is (sources.SourceError.at), by the offset in the unpacked bytes.
    assert re.match(
        rf"{re.escape(str(path))} \(gzip\): at byte \d+ of the uncompressed stream: expected ",
        str(error.value),
    )


def test_a_gzipped_archive_damaged_inside_is_a_clear_error(tmp_path, scratch, run_import):
    # The first deflate block's type made the reserved 3 (bits 1-2 of the byte after gzip's
    # 10-byte header): zlib's own error, named like any damage.
    data, _ = archive_layout()
    damaged = bytearray(gzip.compress(data, mtime=0))
    damaged[10] |= 0b110
    path = tmp_path / "nextcrm.archive.gz"
    path.write_bytes(damaged)
    with pytest.raises(CommandError) as error:
        run_import(path)
    assert re.match(
        rf"{re.escape(str(path))} \(gzip\): at byte \d+ of the uncompressed stream: expected ",
        str(error.value),
    )
    assert list(scratch.iterdir()) == []


def test_a_tmpdir_that_cannot_be_written_is_named(tmp_path, monkeypatch, run_import) -> None:
    data, _ = archive_layout()
    path = tmp_path / "nextcrm.archive"
    path.write_bytes(data)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))
    with pytest.raises(CommandError, match=r"no-such-folder: cannot write .* set TMPDIR"):
        run_import(path)


def test_a_credential_document_that_is_not_bson_is_named_by_its_byte(tmp_path, run_import):
    # Credential documents are the ones decoded (for their _id), so the error names the document.
    out = io.BytesIO()
    writer = ArchiveWriter(out, [("nextcrm", "systemServices", "")])
    secret = bson.encode({"_id": ObjectId(), "serviceKey": "sk-live"})
    writer.write("nextcrm", "systemServices", secret)
    start = out.tell() - len(secret)
    writer.eof("nextcrm", "systemServices")
    data = patch(out.getvalue(), out.getvalue().index(b"\x02serviceKey", start), b"\x99")
    path = tmp_path / "nextcrm.archive"
    path.write_bytes(data)
    with pytest.raises(CommandError) as error:
        run_import(path)
    assert str(error.value).startswith(
        f"{path}: at byte {start}: expected a document of nextcrm.systemServices, found bytes"
    )
