"""The CSV import wizard's results and access: the rejected rows file, undo, who may open
what, the read-only admin, and a file unreadable part way."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from crm import factories as f
from crm.models import Contact, ImportRun
from tests.imports.import_helpers import run_import, upload
from tests.imports.view_helpers import (
    CONTACTS,
    _advance,
    _checked,
    _drive,
    _mapping,
    _post_upload,
    _rejected,
    _url,
)

pytestmark = pytest.mark.django_db


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
