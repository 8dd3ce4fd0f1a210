"""The CSV import wizard in real Chromium, end to end: from the contacts list's "Import CSV"
to an upload with a bad row, the suggested mapping, the check with its preview and error, the
import with its progress driven by htmx polling, the rejected rows download, and undo. Every
state of the page passes axe-core's WCAG checks, as the other pages do; the progress page too,
as an admin sees it (their page watches another user's import without running it)."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from crm.models import Contact, ImportRun
from crm.services.imports import import_configure
from tests.browser.conftest import sign_in
from tests.imports.import_helpers import upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}

GOOD = "".join(
    f"Person{n},Tester,person{n}@example.com,+1 555 {n:04d},note {n}\n" for n in range(40)
)
CSV = (
    "First name,Last name,E-mail,Phone,Notes to self\n"
    "Ada,Lovelace,ada@example.com,+44 20 1234,first\n"
    "Alan,Turing,not-an-email,,second\n" + GOOD
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> None:
    # The live server runs in this process: it stores the upload here too.
    settings.MEDIA_ROOT = tmp_path / "media"


def _no_violations(page) -> None:
    results = Axe().run(page, options={**WCAG, "resultTypes": ["violations"]})
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
    ]
    assert not problems, problems


def _column_row(page, header: str):
    return page.locator("tr.import-column", has=page.get_by_role("rowheader", name=header))


def _page_load_with_progress(page, run_url: str):
    """Expect the next GET of the import's page; its HTML is checked for the progress bar."""
    return page.expect_response(
        lambda r: r.url.endswith(run_url) and r.request.method == "GET" and r.status == 200
    )


def test_a_sales_rep_imports_contacts_with_the_wizard_and_undoes_it(page, sales_rep) -> None:
    sign_in(page, sales_rep.email, PASSWORD)

    # From the contacts list to the upload form, contacts preselected.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    page.get_by_role("link", name="Import CSV").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New import")
    expect(page.get_by_label("Import", exact=True)).to_have_value("contact")
    _no_violations(page)
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    page.get_by_role("button", name="Upload").click()

    # The mapping: suggested from the headers, first values shown, the unknown column ignored.
    expect(page.get_by_role("heading", name="Map the columns")).to_be_visible()
    run = ImportRun.objects.get()
    run_url = f"/imports/{run.pk}/"
    email = _column_row(page, "E-mail")
    expect(email.get_by_role("combobox")).to_have_value("email")
    expect(email).to_contain_text("ada@example.com")
    expect(_column_row(page, "Notes to self").locator(".ignored")).to_be_visible()
    expect(_column_row(page, "Phone").locator(".ignored")).to_be_hidden()
    # Ignoring a column marks it at once (CSS, no script), and back.
    phone_select = _column_row(page, "Phone").get_by_role("combobox")
    phone_select.select_option("")
    expect(_column_row(page, "Phone").locator(".ignored")).to_be_visible()
    phone_select.select_option("phone")
    expect(
        page.get_by_label("Skip bad rows: import the good rows, report the others")
    ).to_be_checked()
    _no_violations(page)

    # The check: progress, then the result with the preview and the bad row's error.
    with _page_load_with_progress(page, run_url) as loaded:
        page.get_by_role("button", name="Check the file").click()
    assert "<progress" in loaded.value.text()
    expect(page.get_by_role("heading", name=re.compile("The check is done"))).to_be_visible()
    expect(page.locator(".count-created")).to_have_text("41")
    expect(page.locator(".count-failed")).to_have_text("1")
    preview = page.locator(".import-preview")
    expect(preview).to_contain_text("ada@example.com")
    problems = page.locator(".import-problems")
    expect(problems.get_by_role("row", name=re.compile("not-an-email"))).to_contain_text(
        "Enter a valid email address"
    )
    assert not Contact.objects.exists()
    _no_violations(page)

    # The import: the progress bar until done, driven by the page's polling.
    with _page_load_with_progress(page, run_url) as loaded:
        page.get_by_role("button", name="Import now").click()
    assert "<progress" in loaded.value.text()
    expect(page.get_by_role("heading", name="Imported", exact=True)).to_be_visible()
    expect(page.locator(".count-created")).to_have_text("41")
    assert Contact.objects.filter(owner=sales_rep).count() == 41
    _no_violations(page)

    # The rejected rows, with their reasons.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download rejected rows").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "First name,Last name,E-mail,Phone,Notes to self,Row,Result,Reason"
    assert lines[1].startswith("Alan,Turing,not-an-email,,second,3,Rejected,E-mail: Enter a valid")

    # Undo, confirmed, with its own progress: the contacts are gone.
    page.get_by_text("Undo this import…").click()
    with _page_load_with_progress(page, run_url) as loaded:
        page.get_by_role("button", name="Yes, undo the import").click()
    assert "Undoing the import" in loaded.value.text()
    expect(page.get_by_role("heading", name="Undone", exact=True)).to_be_visible()
    expect(
        page.get_by_text("Every record the import wrote was deleted or put back.")
    ).to_be_visible()
    assert not Contact.objects.exists()
    _no_violations(page)

    # The imports list has it, with its status.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports").click()
    row = page.get_by_role("row", name=re.compile("people.csv"))
    expect(row).to_contain_text("Undone")
    _no_violations(page)


def test_the_progress_page_passes_axe_and_an_admin_only_watches_it(
    page, sales_rep, admin_user
) -> None:
    run = upload(sales_rep, "contact", CSV)
    options = {"mapping": run.mapping, "mode": "upsert", "match_on": "email", "on_error": "skip"}
    import_configure(user=sales_rep, run=run, options=options)
    sign_in(page, admin_user.email, PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/advance/")) as polled:
        page.goto(f"/imports/{run.pk}/")
    assert polled.value.status == 200
    expect(page.get_by_label("0% done")).to_be_visible()
    expect(page.get_by_text("Sally Rep runs this import from their page")).to_be_visible()
    _no_violations(page)
    run.refresh_from_db()
    assert (run.status, run.rows_read) == (ImportRun.Status.CHECKING, 0)
