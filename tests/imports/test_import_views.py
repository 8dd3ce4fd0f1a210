"""The CSV import wizard through its pages: upload, map, check, import, the progress of a
pass, and what the pages read."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from crm.models import Contact, ImportRun
from crm.selectors import imports as selectors
from tests.imports.import_helpers import upload
from tests.imports.view_helpers import (
    CONTACTS,
    DETAIL_QUERIES,
    LIST_QUERIES,
    _advance,
    _checked,
    _drive,
    _mapping,
    _post_upload,
    _url,
)

pytestmark = pytest.mark.django_db


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
