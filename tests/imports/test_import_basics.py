"""The import engine end to end on real CSV bytes and a real PostgreSQL."""

from __future__ import annotations

import pytest

from crm.models import Company, Contact, ImportRun
from tests.imports.import_helpers import errors_by_row, run_import, upload

pytestmark = pytest.mark.django_db


CONTACTS = (
    "First name,Last name,E-mail,Company,Phone,Tags\n"
    "Ada,Lovelace,ada@example.com,Analytical Engines,+44 20 1234,vip; math\n"
    "Alan,Turing,alan@example.com,,,\n"
)


def test_creates_contacts_with_suggested_mapping(sales_rep):
    Company.objects.create(name="Analytical Engines", owner=sales_rep)
    run = run_import(sales_rep, "contact", CONTACTS)
    assert (run.status, run.created, run.failed) == (ImportRun.Status.DONE, 2, 0)
    ada = Contact.objects.get(email="ada@example.com")
    assert (ada.first_name, ada.company.name) == ("Ada", "Analytical Engines")
    assert ada.tags == ["vip", "math"]
    assert ada.owner == sales_rep


def test_suggestions_follow_headers(sales_rep):
    run = upload(sales_rep, "contact", CONTACTS)
    assert run.mapping == ["first_name", "last_name", "email", "company", "phone", "tags"]
    assert run.match_on == "email"


def test_second_run_updates_nothing(sales_rep):
    Company.objects.create(name="Analytical Engines", owner=sales_rep)
    run_import(sales_rep, "contact", CONTACTS)
    again = run_import(sales_rep, "contact", CONTACTS)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_bad_values_are_reported_with_row_and_column(sales_rep):
    data = (
        "Last name,Email,Birthday\n"
        "Good,good@example.com,1990-01-31\n"
        "Bad,not-an-email,1990-02-31\n"
        ",nolast@example.com,\n"
    )
    run = run_import(sales_rep, "contact", data)
    assert (run.created, run.failed) == (1, 2)
    errors = errors_by_row(run)
    assert {e["column"] for e in errors[3]} == {"Email", "Birthday"}
    assert errors[4] == [{"column": "Last name", "value": "", "reason": "is required"}]


@pytest.mark.django_db(transaction=True)  # statistics count committed rows only
def test_a_big_first_import_gives_its_tables_statistics(sales_rep, monkeypatch):
    from django.db import connection

    monkeypatch.setattr("crm.imports.engine.CHUNK_ROWS", 100)
    rows = "".join(f"N{i},n{i}@example.com\n" for i in range(1200))
    run_import(sales_rep, "contact", f"Last name,Email\n{rows}")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL "
            "AND relname IN ('crm_contact', 'crm_importrow')"
        )
        analyzed = {name for (name,) in cursor.fetchall()}
    assert analyzed == {"crm_contact", "crm_importrow"}
