"""The CSV import wizard through its pages: upload, map, check, import, undo, the rejected
rows file, who may open what, and the read-only admin of imports."""

from __future__ import annotations

import codecs
import csv
import io
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from crm import factories as f
from crm.models import Contact, ImportRun
from crm.selectors import imports as selectors
from tests.imports.import_helpers import run_import, upload

pytestmark = pytest.mark.django_db

CONTACTS = (
    "First name,Last name,E-mail,Phone,Notes to self\n"
    "Ada,Lovelace,ada@example.com,+44 20 1234,first\n"
    "Alan,Turing,not-an-email,,second\n"
    "Grace,Hopper,grace@example.com,,third\n"
)
# Session and user, then the list: the boundary run of a `before` cursor and the page.
LIST_QUERIES = 4
# Session and user, the run, custom field definitions (the mapping form's fields and the
# match choices read them), one page of rows with errors.
DETAIL_QUERIES = 6


def _url(name: str, run: ImportRun | None = None) -> str:
    return reverse(f"crm:import.{name}", args=[run.pk] if run else [])


def _post_upload(client: Client, data: str | bytes, entity: str = "contact", **extra: Any):
    raw = data.encode() if isinstance(data, str) else data
    file = SimpleUploadedFile(extra.pop("name", "people.csv"), raw, "text/csv")
    return client.post(_url("new"), {"entity": entity, "file": file, **extra})


def _mapping(run: ImportRun, **options: Any) -> dict[str, Any]:
    """The mapping form as the page fills it in (the suggested mapping), with `options`."""
    data = {f"column_{i}": name for i, name in enumerate(run.mapping)}
    data.update(
        mode="upsert",
        match_on=run.match_on,
        on_error="skip",
        encoding=run.encoding,
        delimiter=run.delimiter,
    )
    data.update(options)
    return data


def _advance(client: Client, run: ImportRun):
    return client.post(_url("advance", run), headers={"HX-Request": "true"})


def _drive(client: Client, run: ImportRun) -> ImportRun:
    """Poll `advance` as the progress fragment does, until it asks the page to reload."""
    for _ in range(50):
        response = _advance(client, run)
        assert response.status_code == 200
        if response.headers.get("HX-Refresh") == "true":
            run.refresh_from_db()
            return run
        assert b"<progress" in response.content
    raise AssertionError("the pass never finished")


def _checked(client: Client, data: str = CONTACTS, **options: Any) -> ImportRun:
    response = _post_upload(client, data)
    assert response.status_code == 302, response.content
    run = ImportRun.objects.get()
    assert client.post(_url("detail", run), _mapping(run, **options)).status_code == 302
    return _drive(client, run)


def _rejected(client: Client, run: ImportRun) -> list[list[str]]:
    response = client.get(_url("rejected", run))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# --- the whole way through ----------------------------------------------------------------


def test_a_sales_rep_imports_contacts_through_every_step(login, sales_rep) -> None:
    client = login(sales_rep)
    response = _post_upload(client, CONTACTS)
    run = ImportRun.objects.get()
    assert response["Location"] == _url("detail", run)

    # The mapping page: each header with its first values and the suggested field.
    page = client.get(_url("detail", run))
    form = page.context["form"]
    assert [h for h, _, _ in form.columns] == run.headers
    assert form.columns[0][1] == ["Ada", "Alan", "Grace"]
    assert form["column_2"].value() == "email"
    assert form["column_4"].value() == ""  # "Notes to self": no such field, ignored
    assert b'class="badge ignored"' in page.content
    assert b"hx-post" not in page.content

    # Check: the page shows progress and polls; driving it ends in the dry run's result.
    response = client.post(_url("detail", run), _mapping(run))
    assert response.status_code == 302
    page = client.get(_url("detail", run))
    assert b"<progress" in page.content and _url("advance", run).encode() in page.content
    assert b"If you leave, the import pauses" in page.content
    run = _drive(client, run)
    assert (run.status, run.created, run.failed) == (ImportRun.Status.CHECKED, 2, 1)
    assert not Contact.objects.exists()
    page = client.get(_url("detail", run))
    assert [r["row"] for r in page.context["preview"]["rows"]] == [2, 4]
    assert b"ada@example.com" in page.content
    assert b"not-an-email" in page.content  # the rejected value, in the errors list
    assert [r.number for r in page.context["problems"].rows] == [3]
    assert b"Import now" in page.content and b"<details" in page.content

    # Commit, drive the import to its end: the result page and the records.
    response = client.post(_url("commit", run))
    assert response.status_code == 302
    assert b"Importing" in client.get(_url("detail", run)).content
    run = _drive(client, run)
    assert (run.status, run.created, run.failed) == (ImportRun.Status.DONE, 2, 1)
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "ada@example.com",
        "grace@example.com",
    }
    page = client.get(_url("detail", run))
    assert _url("rejected", run).encode() in page.content
    assert b"Yes, undo the import" in page.content


def test_the_list_shows_the_users_imports_newest_first(
    login, sales_rep, teammate, django_assert_max_num_queries
) -> None:
    first = upload(sales_rep, "contact", CONTACTS, name="first.csv")
    second = upload(sales_rep, "company", "Name\nAcme\n", name="second.csv")
    upload(teammate, "contact", CONTACTS, name="theirs.csv")
    client = login(sales_rep)
    with django_assert_max_num_queries(LIST_QUERIES):
        page = client.get(_url("list"))
    assert [r.pk for r in page.context["page"].runs] == [second.pk, first.pk]
    assert b"theirs.csv" not in page.content
    assert b"Companies" in page.content and b"Sally Rep" in page.content
    with django_assert_max_num_queries(LIST_QUERIES):
        page = client.get(f"{_url('list')}?before={second.pk}")
    assert [r.pk for r in page.context["page"].runs] == [first.pk]


def test_the_list_pages_by_keyset(login, sales_rep, monkeypatch) -> None:
    runs = [upload(sales_rep, "company", "Name\nAcme\n", name=f"{n}.csv") for n in range(5)]
    monkeypatch.setattr(selectors, "LIST_PAGE", 2)
    client = login(sales_rep)
    seen: list[Any] = []
    url = _url("list")
    while url:
        page = client.get(url).context["page"]
        seen += [r.pk for r in page.runs]
        url = f"{_url('list')}?before={page.next_cursor}" if page.next_cursor else ""
    assert seen == [r.pk for r in reversed(runs)]
    # A cursor that names nothing (or nothing of theirs) is the first page, not an error.
    assert client.get(f"{_url('list')}?before=nonsense").status_code == 200


def test_new_import_page_preselects_the_entity_from_the_list_pages(login, sales_rep) -> None:
    client = login(sales_rep)
    page = client.get(_url("new") + "?entity=lead")
    assert page.context["form"]["entity"].value() == "lead"
    contacts = client.get(reverse("crm:contact.list")).content.decode()
    assert f'href="{_url("new")}?entity=contact">Import CSV</a>' in contacts
    assert "Import CSV" not in client.get(reverse("crm:task.list")).content.decode()
    assert f'href="{_url("list")}"' in contacts  # the sidebar link


# --- errors on the forms ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The submitted file is empty."),
        (b"   \n\n", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV file"),
        (b"Email,Name,Email\na,b,c\n", "names the column 'Email' twice"),
    ],
    ids=["empty", "blank", "binary", "duplicate-header"],
)
def test_an_upload_the_service_refuses_is_shown_on_the_file_field(
    login, sales_rep, data, message
) -> None:
    response = _post_upload(login(sales_rep), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["file"])
    assert not ImportRun.objects.exists()


def test_a_file_over_the_limit_is_refused_on_the_file_field(login, sales_rep, settings) -> None:
    settings.CSV_IMPORT_MAX_BYTES = 2 * 1024 * 1024
    response = _post_upload(login(sales_rep), "Name\n" + "x" * (3 * 1024 * 1024))
    assert response.context["form"].errors["file"] == ["The file is larger than the 2 MB limit."]


def test_an_unknown_entity_is_a_field_error(login, sales_rep) -> None:
    response = _post_upload(login(sales_rep), CONTACTS, entity="task")
    assert "entity" in response.context["form"].errors


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"column_1": "first_name"}, "mapping", "First name is mapped twice."),
        ({"column_1": "", "mode": "create"}, "mapping", "New records need Last name"),
        ({"mode": "update", "match_on": ""}, "match_on", "Updating needs a field to match"),
        ({"column_2": "", "match_on": "email"}, "match_on", "Map a column to Email"),
        ({"mode": "sideways"}, "mode", "Select a valid choice"),
        ({"on_error": ""}, "on_error", "This field is required"),
    ],
    ids=["twice", "required", "no-match", "unmapped-match", "bad-mode", "no-on-error"],
)
def test_a_bad_mapping_is_shown_where_it_is_wrong(
    login, sales_rep, options, field, message
) -> None:
    client = login(sales_rep)
    _post_upload(client, CONTACTS)
    run = ImportRun.objects.get()
    response = client.post(_url("detail", run), _mapping(run, **options))
    assert response.status_code == 200
    form = response.context["form"]
    errors = form.mapping_errors if field == "mapping" else form.errors[field]
    assert any(message in e for e in errors), errors
    assert b"Please correct the errors below" in response.content
    run.refresh_from_db()
    assert run.status == ImportRun.Status.UPLOADED


def test_changing_the_delimiter_to_one_that_splits_other_columns_asks_to_map_again(
    login, sales_rep
) -> None:
    client = login(sales_rep)
    _post_upload(client, "Name;Domain\nAcme;acme.example\n", entity="company")
    run = ImportRun.objects.get()
    assert run.headers == ["Name", "Domain"]
    response = client.post(_url("detail", run), _mapping(run, delimiter=","), follow=True)
    assert "map them again" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert response.context["form"].run.headers == ["Name;Domain"]


def test_headers_and_cells_are_escaped(login, sales_rep) -> None:
    client = login(sales_rep)
    _post_upload(client, 'Name,<script>alert(1)</script>\nAcme,"<b>bold</b>"\n', entity="company")
    page = client.get(_url("detail", ImportRun.objects.get())).content
    assert b"<script>alert(1)" not in page and b"&lt;script&gt;alert(1)" in page
    assert b"<b>bold</b>" not in page and b"&lt;b&gt;bold&lt;/b&gt;" in page


# --- the dry run's result and the commit --------------------------------------------------


def test_all_or_nothing_with_errors_cannot_be_committed(login, sales_rep) -> None:
    client = login(sales_rep)
    run = _checked(client, on_error="all")
    page = client.get(_url("detail", run))
    assert page.context["commit_blocked"]
    assert b'disabled aria-describedby="commit-blocked"' in page.content
    response = client.post(_url("commit", run), follow=True)
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("chose all or nothing" in m for m in messages)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.CHECKED
    assert not Contact.objects.exists()


def test_each_poll_runs_a_step_and_moves_the_bar(login, sales_rep, monkeypatch) -> None:
    # No time budget: each poll handles one chunk (500 rows) and answers.
    monkeypatch.setattr("crm.views.imports.STEP_SECONDS", 0)
    rows = "".join(f"Person{n},p{n}@example.com\n" for n in range(1200))
    client = login(sales_rep)
    _post_upload(client, "Last name,Email\n" + rows)
    run = ImportRun.objects.get()
    client.post(_url("detail", run), _mapping(run))
    percents = []
    while (response := _advance(client, run)).headers.get("HX-Refresh") != "true":
        assert b'hx-trigger="load delay:300ms"' in response.content
        percents.append(response.context["percent"])
    # 500, 1,000, then 1,200 rows read; the next poll finds no more and ends the pass.
    assert len(percents) == 3 and 0 < percents[0] < percents[1] < percents[2] == 100
    run.refresh_from_db()
    assert (run.status, run.created) == (ImportRun.Status.CHECKED, 1200)


def test_without_javascript_each_go_on_click_runs_a_step(login, sales_rep) -> None:
    client = login(sales_rep)
    _post_upload(client, CONTACTS)
    run = ImportRun.objects.get()
    client.post(_url("detail", run), _mapping(run))
    assert b"<noscript>" in client.get(_url("detail", run)).content
    response = client.post(_url("advance", run))
    assert response.status_code == 302 and response["Location"] == _url("detail", run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.CHECKED


def test_a_started_import_cannot_be_mapped_again(login, sales_rep) -> None:
    client = login(sales_rep)
    run = _checked(client)
    client.post(_url("commit", run))
    response = client.post(_url("detail", run), _mapping(run), follow=True)
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == ["This import has started; start a new one to change it."]
    run.refresh_from_db()
    assert run.status == ImportRun.Status.IMPORTING


def test_the_mapping_can_change_after_the_check(login, sales_rep) -> None:
    client = login(sales_rep)
    run = _checked(client, on_error="all")
    response = client.post(_url("detail", run), _mapping(run, on_error="skip"))
    assert response.status_code == 302
    run = _drive(client, run)
    assert (run.status, run.on_error) == (ImportRun.Status.CHECKED, "skip")
    assert not client.get(_url("detail", run)).context["commit_blocked"]


def test_the_error_list_pages_by_row_number(login, sales_rep, monkeypatch) -> None:
    rows = "".join(f"Person{n},bad-{n}\n" for n in range(7))
    client = login(sales_rep)
    run = _checked(client, "Last name,Email\n" + rows)
    assert run.failed == 7
    monkeypatch.setattr(selectors, "ROWS_PAGE", 3)
    first = client.get(_url("detail", run)).context["problems"]
    assert [r.number for r in first.rows] == [2, 3, 4] and first.next_after == "4"
    second = client.get(_url("detail", run) + "?after=4").context["problems"]
    assert [r.number for r in second.rows] == [5, 6, 7]


@pytest.mark.parametrize(
    "query", ["after=abc", "after=-3", "after=99999999999999999999999", "kept_after=1.x"]
)
def test_a_bad_page_cursor_is_never_an_error(login, sales_rep, query) -> None:
    client = login(sales_rep)
    run = _checked(client)
    response = client.get(f"{_url('detail', run)}?{query}")
    assert response.status_code == 200


def test_the_detail_page_reads_a_fixed_number_of_queries(
    login, sales_rep, django_assert_max_num_queries
) -> None:
    client = login(sales_rep)
    run = _checked(client, "Last name,Email\n" + "".join(f"P{n},bad-{n}\n" for n in range(60)))
    with django_assert_max_num_queries(DETAIL_QUERIES):
        assert client.get(_url("detail", run)).status_code == 200


# --- the result: rejected rows and undo ---------------------------------------------------


def test_the_rejected_rows_file_has_the_original_cells_and_reasons(login, sales_rep) -> None:
    data = (
        "Last name,Email,Phone\n"
        "Good,good@example.com,\n"
        '=HYPERLINK("http://evil"),bad-email,+1 555\n'
        "@Sum,,-3\n"
    )
    client = login(sales_rep)
    run = _checked(client, data, mode="create")
    client.post(_url("commit", run))
    run = _drive(client, run)
    assert (run.created, run.failed, run.skipped) == (2, 1, 0)
    lines = _rejected(client, run)
    assert lines[0] == ["Last name", "Email", "Phone", "Row", "Result", "Reason"]
    assert lines[1] == [
        '\'=HYPERLINK("http://evil")',
        "bad-email",
        "'+1 555",
        "3",
        "Rejected",
        "Email: Enter a valid email address",
    ]
    assert len(lines) == 2


def test_the_rejected_rows_file_lists_skipped_rows_too(login, sales_rep) -> None:
    f.ContactFactory(owner=sales_rep, email="ada@example.com", last_name="Lovelace")
    client = login(sales_rep)
    run = _checked(client, "Last name,Email\nLovelace,ada@example.com\nNew,new@example.com\n",
                   mode="create")  # fmt: skip
    client.post(_url("commit", run))
    run = _drive(client, run)
    assert (run.created, run.skipped) == (1, 1)
    assert _rejected(client, run)[1] == [
        "Lovelace",
        "ada@example.com",
        "2",
        "Skipped",
        "a matching contact exists (create only)",
    ]


def test_undo_through_the_page_keeps_rows_changed_since(login, sales_rep) -> None:
    client = login(sales_rep)
    run = _checked(client)
    client.post(_url("commit", run))
    run = _drive(client, run)
    ada = Contact.objects.get(email="ada@example.com")
    ada.phone = "+44 999"
    ada.save()

    response = client.post(_url("undo", run))
    assert response.status_code == 302
    page = client.get(_url("detail", run))
    assert b"Undoing the import" in page.content and b"<progress" in page.content
    run = _drive(client, run)
    assert (run.status, run.undo_kept) == (ImportRun.Status.UNDONE, 1)
    assert list(Contact.objects.values_list("email", flat=True)) == ["ada@example.com"]
    page = client.get(_url("detail", run))
    kept = page.context["kept"].rows
    assert [r.number for r in kept] == [2] and kept[0].undo.startswith("changed since")
    assert b"1 row were kept" in page.content or b"1 row was kept" in page.content
    assert b"Yes, undo the import" not in page.content

    # Undo again: refused with a message, never a 500.
    response = client.post(_url("undo", run), follow=True)
    assert "Only a finished import" in " ".join(
        str(m) for m in get_messages(response.wsgi_request)
    )


# --- who may open what ---------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["teammate", "manager", "outsider"])
@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("detail", "get"),
        ("detail", "post"),
        ("advance", "post"),
        ("commit", "post"),
        ("undo", "post"),
        ("rejected", "get"),
    ],
)
def test_someone_elses_import_is_not_found(
    request, login, sales_rep, persona, name, method
) -> None:
    run = run_import(sales_rep, "contact", CONTACTS)
    client = login(request.getfixturevalue(persona))
    response = getattr(client, method)(_url(name, run))
    assert response.status_code == 404
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE


def test_an_admin_sees_every_import_and_may_undo_one(
    login, sales_rep, outsider, admin_user
) -> None:
    mine = run_import(sales_rep, "contact", CONTACTS)
    theirs = upload(outsider, "company", "Name\nAcme\n", name="outside.csv")
    client = login(admin_user)
    listed = client.get(_url("list")).context["page"].runs
    assert {r.pk for r in listed} == {mine.pk, theirs.pk}

    page = client.get(_url("detail", theirs))
    assert page.status_code == 200 and "form" not in page.context
    assert b"Waiting for Olga Outside" in page.content
    assert client.post(_url("detail", theirs), _mapping(theirs)).status_code == 403

    page = client.get(_url("detail", mine))
    assert page.context["can_undo"]
    client.post(_url("undo", mine))
    mine = _drive(client, mine)
    assert mine.status == ImportRun.Status.UNDONE and mine.undone_by == admin_user
    assert not Contact.objects.exists()


def test_an_admin_watching_someone_elses_check_does_not_run_it(
    login, sales_rep, admin_user
) -> None:
    client = login(sales_rep)
    _post_upload(client, CONTACTS)
    run = ImportRun.objects.get()
    client.post(_url("detail", run), _mapping(run))
    response = _advance(login(admin_user), run)
    assert response.status_code == 200
    assert b"Sally Rep runs this import from their page" in response.content
    assert b'hx-trigger="load delay:3s"' in response.content
    run.refresh_from_db()
    assert (run.status, run.rows_read) == (ImportRun.Status.CHECKING, 0)


def test_a_manager_may_import_too(login, manager) -> None:
    client = login(manager)
    run = _checked(client)
    client.post(_url("commit", run))
    assert _drive(client, run).status == ImportRun.Status.DONE
    assert Contact.objects.filter(owner=manager).count() == 2


def test_pages_need_a_signed_in_user(client, sales_rep) -> None:
    run = upload(sales_rep, "contact", CONTACTS)
    for url in (_url("list"), _url("new"), _url("detail", run), _url("rejected", run)):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(_url("advance", run)).status_code == 302


def test_writes_need_post_and_the_csrf_token(sales_rep) -> None:
    run = upload(sales_rep, "contact", CONTACTS)
    client = Client(enforce_csrf_checks=True)
    client.force_login(sales_rep)
    assert client.get(_url("advance", run)).status_code == 405
    assert client.get(_url("commit", run)).status_code == 405
    assert client.post(_url("advance", run), headers={"HX-Request": "true"}).status_code == 403
    assert client.post(_url("detail", run), _mapping(run)).status_code == 403
    page = client.get(_url("detail", run)).content.decode()
    assert 'name="csrfmiddlewaretoken"' in page and '"X-CSRFToken"' in page


# --- the admin -----------------------------------------------------------------------------


def test_the_admin_shows_imports_and_their_rows_read_only(admin_client, sales_rep) -> None:
    run = run_import(sales_rep, "contact", CONTACTS)
    changelist = admin_client.get(reverse("admin:crm_importrun_changelist"))
    assert changelist.status_code == 200 and b"people.csv" in changelist.content
    change = admin_client.get(reverse("admin:crm_importrun_change", args=[run.pk]))
    assert change.status_code == 200
    assert _url("detail", run).encode() in change.content
    assert b"run__id__exact" in change.content
    assert b'name="_save"' not in change.content
    rows = admin_client.get(
        reverse("admin:crm_importrow_changelist") + f"?run__id__exact={run.pk}"
    )
    assert rows.status_code == 200
    assert b"E-mail: Enter a valid email address" in rows.content
    assert admin_client.get(reverse("admin:crm_importrun_add")).status_code == 403


def test_a_read_error_in_the_middle_of_the_file_sends_the_check_back_to_the_settings(
    login, sales_rep
) -> None:
    # The first 64 KiB are UTF-8, so UTF-8 is detected; a Windows-1252 "ü" comes later.
    good = "".join(f"Person{n},p{n}@example.com\n" for n in range(4000))
    data = b"Last name,Email\n" + good.encode() + b"M\xfcller,mueller@example.com\n"
    client = login(sales_rep)
    _post_upload(client, data)
    run = ImportRun.objects.get()
    client.post(_url("detail", run), _mapping(run))
    for _ in range(20):
        response = _advance(client, run)
        assert response.status_code == 200
        run.refresh_from_db()
        if not run.running:
            break
    # Back to the settings, saying why, with nothing written: the user picks the encoding.
    assert run.status == ImportRun.Status.UPLOADED
    page = client.get(_url("detail", run))
    assert b"is not valid UTF-8" in page.content and b"Nothing was written" in page.content
    assert b"hx-post" not in page.content  # no polling
