"""manage.py import_csv on real CSV files: options, output, exit codes, all-or-nothing."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import base, call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from crm.factories import ContactFactory, CustomFieldDefinitionFactory
from crm.management.commands import import_csv
from crm.models import Company, Contact, ImportRun

pytestmark = pytest.mark.django_db

PEOPLE = (
    "First name,Last name,E-mail,Company,Tags\n"
    "Ada,Lovelace,ada@example.com,Analytical Engines,vip; math\n"
    "Alan,Turing,alan@example.com,,\n"
)
# Row 3 has a bad email, row 4 no last name; rows 2 and 5 are good.
WITH_BAD_ROWS = (
    "Last name,Email\n"
    "Good,good@example.com\n"
    "Bad,not-an-email\n"
    ",nolast@example.com\n"
    "Fine,fine@example.com\n"
)


def write(tmp_path: Path, text: str | bytes, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def run_command(path: Path, user: Any, *args: str, **options: Any) -> tuple[int, str]:
    """The command's exit code (0, or 2 from sys.exit) and what it printed on stdout."""
    out = io.StringIO()
    try:
        call_command(
            "import_csv", *args, str(path), user=user.email, quiet=True, stdout=out, **options
        )
    except SystemExit as stop:
        return int(stop.code), out.getvalue()
    return 0, out.getvalue()


def counts(out: str) -> dict[str, int]:
    """The counts the command printed: {"created": 2, ...}."""
    lines = re.finditer(r"^  (created|updated|unchanged|skipped|rejected) +([\d,]+)$", out, re.M)
    return {label: int(number.replace(",", "")) for label, number in (m.groups() for m in lines)}


def test_default_mapping_is_printed_and_imports(sales_rep, tmp_path):
    Company.objects.create(name="Analytical Engines", owner=sales_rep)
    code, out = run_command(write(tmp_path, PEOPLE), sales_rep, "contact")
    assert code == 0
    assert re.search(r"^  E-mail +-> email$", out, re.M)
    assert "Mode upsert, matching on email, on error: skip." in out
    assert counts(out) == {"created": 2, "updated": 0, "unchanged": 0, "skipped": 0, "rejected": 0}
    ada = Contact.objects.get(email="ada@example.com")
    assert (ada.company.name, ada.tags, ada.owner) == (
        "Analytical Engines",
        ["vip", "math"],
        sales_rep,
    )
    run = ImportRun.objects.get()
    assert (run.status, run.created, run.created_by) == (ImportRun.Status.DONE, 2, sales_rep)
    assert f"Import {run.pk}: undo it" in out


def test_map_overrides_suggestions_and_ignores_columns(sales_rep, tmp_path):
    CustomFieldDefinitionFactory(entity="contact", key="region", label="Region")
    data = "Given,Family,Mail,Phone,Area\nAda,Lovelace,ada@example.com,+44 20,EMEA\n"
    maps = ["Given=first_name", "family=last_name", "Mail=email", "Phone=", "Area=cf:region"]
    code, out = run_command(write(tmp_path, data), sales_rep, "contacts", map=maps)
    assert code == 0
    assert re.search(r"^  Phone +-> \(ignored\)$", out, re.M)
    ada = Contact.objects.get(email="ada@example.com")
    assert (ada.first_name, ada.last_name, ada.phone) == ("Ada", "Lovelace", "")
    assert ada.custom_fields == {"region": "EMEA"}


def test_map_moves_a_field_from_its_suggested_column(sales_rep, tmp_path):
    data = "Email,Private email,Last name\nwork@example.com,home@example.com,Lovelace\n"
    code, _ = run_command(write(tmp_path, data), sales_rep, "contact", map=["Private email=email"])
    assert code == 0
    assert Contact.objects.get().email == "home@example.com"


def test_dry_run_writes_nothing(sales_rep, tmp_path):
    code, out = run_command(write(tmp_path, PEOPLE), sales_rep, "contact", "--create-related",
                            dry_run=True)  # fmt: skip
    assert code == 0
    assert "Dry run, nothing written. Of the 2 rows, these would be" in out
    assert not Contact.objects.exists() and not Company.objects.exists()
    assert ImportRun.objects.get().status == ImportRun.Status.CHECKED


def test_skip_mode_by_default_imports_good_rows_and_exits_2_listing_rejected(sales_rep, tmp_path):
    code, out = run_command(write(tmp_path, WITH_BAD_ROWS), sales_rep, "contact")
    assert code == 2
    assert set(Contact.objects.values_list("last_name", flat=True)) == {"Good", "Fine"}
    assert "row 3, Email 'not-an-email': Enter a valid email address" in out
    assert "row 4, Last name '': is required" in out
    assert (counts(out)["created"], counts(out)["rejected"]) == (2, 2)
    run = ImportRun.objects.get()
    # Skip mode writes in one pass: no dry run before it.
    assert (run.status, run.dry_run, run.created, run.failed) == ("done", False, 2, 2)


def test_rejected_rows_beyond_fifty_are_counted(sales_rep, tmp_path):
    data = "Last name,Email\n" + "".join(f"Bad{n},bad{n}\n" for n in range(53))
    code, out = run_command(write(tmp_path, data), sales_rep, "contact", on_error="skip")
    assert code == 2
    assert "row 51, Email 'bad49'" in out and "row 52," not in out
    assert "and 3 more rows" in out


def test_all_or_nothing_writes_nothing_when_a_row_fails(sales_rep, tmp_path):
    code, out = run_command(write(tmp_path, WITH_BAD_ROWS), sales_rep, "contact", on_error="all")
    assert code == 2
    assert not Contact.objects.exists()
    assert "Nothing was imported: 2 rows have errors" in out
    assert "row 3, Email 'not-an-email'" in out
    assert ImportRun.objects.get().status == ImportRun.Status.CHECKED


def test_all_or_nothing_checks_every_row_then_imports(sales_rep, tmp_path):
    code, out = run_command(write(tmp_path, PEOPLE), sales_rep, "contact", "--create-related",
                            on_error="all")  # fmt: skip
    assert code == 0
    assert counts(out)["created"] == 2
    run = ImportRun.objects.get()
    assert (run.status, run.dry_run, run.rows_total) == (ImportRun.Status.DONE, False, 2)


def test_update_mode_matches_on_email(sales_rep, tmp_path):
    ContactFactory(email="ADA@example.com", last_name="Byron", owner=sales_rep)
    data = "Email,Last name\nada@example.com,Lovelace\nnew@example.com,Nobody\n"
    code, out = run_command(write(tmp_path, data), sales_rep, "contact", mode="update",
                            match_on="email")  # fmt: skip
    assert code == 0
    assert Contact.objects.get().last_name == "Lovelace"
    assert (counts(out)["updated"], counts(out)["skipped"]) == (1, 1)
    assert "no matching contact (update only)" in out


def test_windows_1252_semicolon_file(sales_rep, tmp_path):
    data = "Vorname;Nachname;E-mail\r\nZoë;Müller;zoe@example.com\r\n".encode("cp1252")
    code, out = run_command(write(tmp_path, data), sales_rep, "contact")
    assert code == 0
    assert "Windows-1252, semicolon-separated" in out
    assert Contact.objects.values_list("first_name", "last_name").get() == ("Zoë", "Müller")


def test_encoding_and_delimiter_options_override_detection(sales_rep, tmp_path):
    data = "Last name;Email\r\nMüller;m@example.com\r\n".encode("cp1252")
    code, _ = run_command(write(tmp_path, data), sales_rep, "contact", encoding="latin-1",
                          delimiter="semicolon")  # fmt: skip
    assert code == 0
    assert ImportRun.objects.get().encoding == "latin-1"
    assert Contact.objects.get().last_name == "Müller"


def test_create_related_makes_missing_companies(sales_rep, tmp_path):
    code, _ = run_command(write(tmp_path, PEOPLE), sales_rep, "contact", "--create-related")
    assert code == 0
    assert Contact.objects.get(email="ada@example.com").company.name == "Analytical Engines"


def test_writes_carry_the_command_the_user_and_the_import(sales_rep, tmp_path):
    run_command(write(tmp_path, PEOPLE), sales_rep, "contact", "--create-related")
    ada = Contact.objects.get(email="ada@example.com")
    entry = AuditEvent.objects.get(table_name="crm_contact", record_id=str(ada.pk))
    assert entry.user_id == sales_rep.pk
    assert entry.context["command"] == "import_csv"
    assert entry.context["csv_import"] == str(ImportRun.objects.get().pk)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"user": "nobody@example.com"}, "--user: no user with the email"),
        ({"file": "missing.csv"}, "missing.csv: no such file."),
        ({"data": b"\x89PNG\r\n\x1a\n\x00\x00"}, "not a CSV file"),
        ({"data": b""}, "The file is empty."),
        ({"map": ["Nope=email"]}, "the file has no column 'Nope'"),
        ({"map": ["E-mail=shoe_size"]}, "a contact has no field 'shoe_size'"),
        ({"map": ["Last name="]}, "--map: New records need Last name"),
        ({"mode": "update", "map": ["E-mail="]}, "--match-on: Updating needs a field"),
        (
            {"match_on": "phone"},
            "--match-on: Choose a field to match records on (one of: email, id, legacy_id).",
        ),
        ({"entity": "invoice"}, "ENTITY must be one of company, contact, lead, deal."),
        ({"encoding": "ebcdic"}, "'ebcdic': choose one of utf-8, windows-1252, latin-1."),
        ({"delimiter": "|"}, "--delimiter '|': choose one of comma, semicolon, tab."),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else "",
)
def test_configuration_errors_are_one_line_and_leave_nothing(sales_rep, tmp_path, settings,
                                                             change, message):  # fmt: skip
    path = write(tmp_path, change.pop("data", PEOPLE))
    if "file" in change:
        path = tmp_path / change.pop("file")
    user = change.pop("user", sales_rep.email)
    entity = change.pop("entity", "contact")
    with pytest.raises(CommandError, match=re.escape(message)) as error:
        call_command("import_csv", entity, str(path), user=user, quiet=True,
                     stdout=io.StringIO(), **change)  # fmt: skip
    assert "\n" not in str(error.value)
    assert not ImportRun.objects.exists()
    stored = Path(settings.MEDIA_ROOT)
    assert not stored.exists() or not any(p.is_file() for p in stored.rglob("*"))


UNDECODABLE = (
    ("Last name,Email\n" + "".join(f"Row{n},row{n}@example.com\n" for n in range(3_000))).encode()
    + "Müller,m@example.com\n".encode("cp1252")  # past the 64 KiB the encoding is sniffed from
)


def test_an_undecodable_line_stops_skip_mode_with_the_rows_before_it_kept(sales_rep, tmp_path):
    with pytest.raises(CommandError) as error:
        run_command(write(tmp_path, UNDECODABLE), sales_rep, "contact")
    run, message = ImportRun.objects.get(), str(error.value)
    assert message.startswith("Stopped after row 3001: A line near byte")
    assert "is not valid UTF-8: choose the file's encoding. The rows before it" in message
    assert f"undo import {run.pk} from its page" in message
    assert (run.status, Contact.objects.count()) == (ImportRun.Status.FAILED, 3_000)


def test_an_undecodable_line_stops_all_mode_before_writing(sales_rep, tmp_path):
    with pytest.raises(CommandError, match=r"is not valid UTF-8.*Nothing was written\.$"):
        run_command(write(tmp_path, UNDECODABLE), sales_rep, "contact", on_error="all")
    assert not Contact.objects.exists()


def test_the_web_upload_limit_does_not_apply_to_the_command(sales_rep, tmp_path, settings):
    settings.CSV_IMPORT_MAX_BYTES = 10
    code, out = run_command(write(tmp_path, PEOPLE), sales_rep, "contact", create_related=True)
    assert (code, counts(out)["created"]) == (0, 2)


def test_deactivated_user_is_refused(sales_rep, tmp_path):
    sales_rep.is_active = False
    sales_rep.save()
    with pytest.raises(CommandError, match="is deactivated"):
        run_command(write(tmp_path, PEOPLE), sales_rep, "contact")


def test_exit_codes_from_the_command_line(sales_rep, tmp_path, capsys, monkeypatch):
    """1 for a configuration or usage error (argparse's own would be 2), 2 for rejections."""
    # run_from_argv closes the connections at the end, the test's transaction with them.
    monkeypatch.setattr(base.connections, "close_all", lambda: None)
    path = str(write(tmp_path, WITH_BAD_ROWS))
    # --skip-checks: the system checks see every admin site the suite has built so far (one
    # test's throwaway site fails admin.E039), which says nothing about this command.
    argv = ["manage.py", "import_csv", "contact", path, "--user", sales_rep.email, "--quiet",
            "--skip-checks"]  # fmt: skip
    for extra, code in [
        (["--mode", "merge"], 1),
        (["--user", "nobody@example.com"], 1),
        (["--on-error", "skip"], 2),
    ]:
        with pytest.raises(SystemExit) as stop:
            import_csv.Command().run_from_argv([*argv, *extra])
        assert stop.value.code == code, extra
    assert "CommandError: --user: no user" in capsys.readouterr().err


def test_the_file_is_copied_in_chunks_never_read_whole(sales_rep, tmp_path, monkeypatch):
    rows = "".join(f"Row{n},row{n}@example.com\n" for n in range(6_000))
    path = write(tmp_path, "Last name,Email\n" + rows)
    reads: list[int] = []

    class Recorded:
        """The opened file, recording the size of each read() (-1: the whole file)."""

        def __init__(self, file: Any) -> None:
            self._file = file

        def read(self, size: int = -1) -> bytes:
            reads.append(size)
            return self._file.read(size)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._file, name)

    class Recording(import_csv.UploadedFile):
        def __init__(self, file: Any, **kwargs: Any) -> None:
            super().__init__(Recorded(file), **kwargs)

    monkeypatch.setattr(import_csv, "UploadedFile", Recording)
    code, _ = run_command(path, sales_rep, "contact", on_error="skip")
    assert code == 0
    assert path.stat().st_size > 2 * 64 * 1024
    assert len(reads) > 2 and all(0 < size <= 64 * 1024 for size in reads)
    assert ImportRun.objects.get().file.size == path.stat().st_size
    assert Contact.objects.count() == 6_000
