"""Files as spreadsheets write them: encodings, delimiters, quoting, and broken files."""

from __future__ import annotations

import codecs

import pytest
from django.core.exceptions import ValidationError

from crm.models import Contact
from tests.imports.import_helpers import run_import, upload

pytestmark = pytest.mark.django_db

ROWS = [("Zoë", "Müller", "zoe@example.com"), ("François", "Lefèvre", "fl@example.com")]


def _csv(delimiter: str) -> str:
    lines = [delimiter.join(("First name", "Last name", "Email"))]
    lines += [delimiter.join(row) for row in ROWS]
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize(
    ("encode", "expected"),
    [
        (lambda t: t.encode("utf-8"), "utf-8-sig"),
        (lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), "utf-8-sig"),
        (lambda t: t.encode("cp1252"), "cp1252"),
        # 0x81 is undefined in cp1252: only Latin-1 reads it.
        (lambda t: t.encode("latin-1") + b"Ab\x81;Cd;ab@example.com\r\n", "latin-1"),
    ],
    ids=["utf-8", "utf-8-bom", "windows-1252", "latin-1"],
)
@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_each_encoding_and_delimiter_is_detected(sales_rep, encode, expected, delimiter):
    data = encode(_csv(delimiter)).replace(b";", delimiter.encode())
    run = upload(sales_rep, "contact", data)
    assert (run.encoding, run.delimiter) == (expected, delimiter)
    assert run.headers == ["First name", "Last name", "Email"]
    done = run_import(sales_rep, "contact", data)
    names = set(Contact.objects.values_list("first_name", "last_name"))
    assert {(first, last) for first, last, _ in ROWS} <= names
    assert done.failed == 0


def test_encoding_and_delimiter_can_be_overridden(sales_rep):
    data = "Last name|Email\nÄrger|a@example.com\n".encode("cp1252")
    run = upload(sales_rep, "contact", data, encoding="latin-1")
    assert run.encoding == "latin-1"
    # A pipe is no choice of ours: the header stays one column, and the user is told.
    assert run.headers == ["Last name|Email"]


def test_quoted_cells_hold_delimiters_quotes_and_newlines(sales_rep):
    data = (
        "Last name,Email,Description\n"
        '"Smith, Jr.",s@example.com,"Line one\nline two, with ""quotes"""\n'
        "Jones,j@example.com,plain\n"
    )
    run = run_import(sales_rep, "contact", data)
    smith = Contact.objects.get(email="s@example.com")
    assert smith.last_name == "Smith, Jr."
    assert smith.description == 'Line one\nline two, with "quotes"'
    # Row numbers count records: Jones is the third record even though Smith spans two lines.
    assert run.created == 2 and run.last_row == 3


def test_blank_lines_and_trailing_separators_are_ignored(sales_rep):
    data = "Last name;Email;;\nA;a@example.com;;\n;;;\n\nB;b@example.com;;\n"
    run = run_import(sales_rep, "contact", data)
    assert (run.created, run.failed, run.skipped) == (2, 0, 0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"Email,Email\na@x.io,b@x.io\n", "twice"),
    ],
    ids=["empty", "binary", "duplicate-header"],
)
def test_unreadable_files_are_refused_with_a_reason(sales_rep, data, message):
    with pytest.raises(ValidationError) as caught:
        upload(sales_rep, "contact", data)
    assert message in str(caught.value.message_dict["file"])


def test_a_file_over_the_limit_is_refused(sales_rep, settings):
    settings.CSV_IMPORT_MAX_BYTES = 10
    with pytest.raises(ValidationError) as caught:
        upload(sales_rep, "contact", "Last name\nSomeone long enough\n")
    assert "limit" in str(caught.value.message_dict["file"])


def _late_bad_byte() -> bytes:
    """Valid UTF-8 for more than the 64 KiB sniffed, then a Latin-1 byte."""
    good = "".join(f"Name{i},n{i}@example.com\n" for i in range(4000)).encode()
    return b"Last name,Email\n" + good + b"M\xfcller,m@example.com\n"


def test_a_bad_byte_past_the_sniffed_sample_sends_the_check_back_to_the_settings(sales_rep):
    from crm.models import ImportRun
    from tests.imports.import_helpers import check

    run = check(sales_rep, upload(sales_rep, "contact", _late_bad_byte()))
    assert run.status == ImportRun.Status.UPLOADED
    assert "not valid UTF-8" in run.message and "Stopped after row" in run.message
    assert not run.rows.exists() and not Contact.objects.exists()
    # Chosen by hand, Latin-1 reads it all.
    run = check(sales_rep, run, encoding="latin-1")
    assert (run.status, run.failed) == (ImportRun.Status.CHECKED, 0)


def test_a_bad_byte_found_while_importing_fails_the_run_and_undo_takes_back_its_rows(
    sales_rep, monkeypatch
):
    from crm.models import ImportRun
    from crm.services.imports import import_advance, import_commit, import_undo
    from tests.imports.import_helpers import check

    run = check(sales_rep, upload(sales_rep, "contact", "Last name,Email\nA,a@example.com\n"))
    run = import_commit(user=sales_rep, run=run)
    # The file changed on disk between check and import (a replaced upload, a bad disk).
    with run.file.open("wb") as file:
        file.write(_late_bad_byte())
    run = import_advance(user=sales_rep, run=run, seconds=None)
    assert run.status == ImportRun.Status.FAILED and "not valid UTF-8" in run.message
    assert Contact.objects.count() == 4000
    run = import_advance(user=sales_rep, run=import_undo(user=sales_rep, run=run), seconds=None)
    assert run.status == ImportRun.Status.UNDONE and not Contact.objects.exists()
