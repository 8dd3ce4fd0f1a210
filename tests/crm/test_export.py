"""CSV export of a list's current filter (crm/exports.py, crm/views/exports.py): what is in
the file: its format, the list's columns and custom fields, plain values, and no live formulas.
Who gets which rows, filters, cost, the audit entry and bad input: test_export_access.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from crm import exports
from crm import factories as f
from tests.crm.export_helpers import (
    FACTORIES,
    HEADERS,
    KEYS,
    _export,
    _records,
    _rows,
)

pytestmark = pytest.mark.django_db


# --- the file ---------------------------------------------------------------------------------


def test_contacts_export_is_a_streamed_utf8_attachment_with_the_list_columns(
    login, sales_rep
) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Müller & Söhne")
    contact = f.ContactFactory(
        owner=sales_rep,
        company=company,
        first_name="Zoë",
        last_name="Ærø",
        email="zoe@example.com",
        phone="030 1234",
        tags=["vip", "renewal"],
    )

    response = _export(login(sales_rep))

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="contacts-{today}.csv"'
    assert "no-store" in response["Cache-Control"]
    header, row = _rows(response)
    assert header == HEADERS["contact"]
    updated = timezone.localtime(contact.updated_at).isoformat(timespec="seconds")
    assert row == [
        str(contact.pk),
        "Zoë Ærø",
        "Müller & Söhne",
        "zoe@example.com",
        "030 1234",
        "Sally Rep",
        updated,
        "vip, renewal",
    ]
    assert dt.datetime.fromisoformat(row[6]).tzinfo is not None


@pytest.mark.parametrize("key", KEYS)
def test_every_list_exports_its_columns_and_only_the_users_rows(
    login, sales_rep, outsider, key
) -> None:
    mine = FACTORIES[key](owner=sales_rep)
    FACTORIES[key](owner=outsider)

    header, *rows = _rows(_export(login(sales_rep), key))

    assert header[: len(HEADERS[key])] == HEADERS[key]
    assert [row[0] for row in rows] == [str(mine.pk)]


def test_deal_cells_are_plain_numbers_iso_dates_and_choice_labels(
    login, sales_rep, pipeline, stages
) -> None:
    f.DealFactory(
        owner=sales_rep,
        name="Big one",
        pipeline=pipeline,
        stage=stages["Proposal"],
        amount=Decimal("12345.50"),
        currency="EUR",
        expected_close_date=dt.date(2031, 2, 3),
    )

    (record,) = _records(_export(login(sales_rep), "deal"))

    assert record["Amount"] == "12345.50" and record["Currency"] == "EUR"
    assert record["Expected close"] == "2031-02-03"
    assert record["Stage"] == "Proposal"
    assert record["Status"] == "Open"  # the label, as the list shows it


def test_custom_fields_are_columns_with_their_labels_and_plain_values(
    login, sales_rep, definitions
) -> None:
    f.ContactFactory(
        owner=sales_rep,
        custom_fields={
            "text": "Berlin office",
            "number": -12,
            "decimal": "10.50",
            "date": "2030-03-01",
            "boolean": True,
            "choice": "gold",
            "multi_choice": ["gold", "silver"],
            "url": "https://example.com/x",
        },
    )
    f.ContactFactory(owner=sales_rep, custom_fields={"boolean": False})

    header, *rows = _rows(_export(login(sales_rep), sort="created"))

    # In the admin's order: position, then label.
    labels = sorted(d.label for d in definitions.values())
    assert header[len(HEADERS["contact"]) :] == labels
    first, second = ({label: row[header.index(label)] for label in labels} for row in rows)
    assert first == {
        "Text field": "Berlin office",
        "Whole number field": "-12",  # a number, so not neutralised
        "Decimal field": "10.50",
        "Date field": "2030-03-01",
        "Yes / no field": "Yes",
        "Choice field": "gold",
        "Multiple choice field": "gold, silver",
        "URL field": "https://example.com/x",
        "Email field": "",
        "Long text field": "",
    }
    assert second["Yes / no field"] == "No" and second["Text field"] == ""


def test_a_custom_field_labelled_like_a_list_column_gets_its_own_header(login, sales_rep) -> None:
    f.CustomFieldDefinitionFactory(entity="contact", key="email", label="Email")
    f.ContactFactory(owner=sales_rep, email="a@example.com", custom_fields={"email": "x"})

    (record,) = _records(_export(login(sales_rep)))

    assert record["Email"] == "a@example.com" and record["Email (custom field)"] == "x"


# --- formula injection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+49 30 1234", "'+49 30 1234"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise_prefixes_formula_starts_with_a_quote(text: str, cell: str) -> None:
    assert exports.neutralise(text) == cell


def test_text_cells_that_start_a_formula_are_neutralised_in_the_file(
    login, sales_rep, definitions
) -> None:
    payload = '=HYPERLINK("http://evil.example","x")'
    company = f.CompanyFactory(owner=sales_rep, name="@evil")
    f.ContactFactory(
        owner=sales_rep,
        company=company,
        first_name=payload,
        last_name="",
        phone="+1 555",
        tags=["-rm"],
        custom_fields={"text": "\tTAB", "long_text": "\rCR", "number": -5, "choice": "gold"},
    )

    (record,) = _records(_export(login(sales_rep)))

    assert record["Name"] == f"'{payload}"
    assert record["Company"] == "'@evil"
    assert record["Phone"] == "'+1 555"
    assert record["Tags"] == "'-rm"
    assert record["Text field"] == "'\tTAB" and record["Long text field"] == "'\rCR"
    assert record["Whole number field"] == "-5"


def test_a_malformed_stored_value_is_written_as_neutralised_text(login, sales_rep) -> None:
    decimal = f.CustomFieldDefinitionFactory(
        entity="contact", key="score", label="Score", field_type="decimal"
    )
    contact = f.ContactFactory(owner=sales_rep)
    # Written around the app's validation, as psql could.
    type(contact).objects.filter(pk=contact.pk).update(custom_fields={"score": "=2*3"})

    (record,) = _records(_export(login(sales_rep)))

    assert record[decimal.label] == "'=2*3"
