"""Custom field values are checked against their definitions: good values are stored in one
normalised form, bad ones are a ValidationError on `custom_fields` naming the field, never a 500.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from crm.custom_fields import validate_custom_fields
from crm.factories import (
    CompanyFactory,
    ContactFactory,
    ContractFactory,
    CustomFieldDefinitionFactory,
    DealFactory,
    DocumentFactory,
    InvoiceFactory,
    LeadFactory,
    TaskFactory,
)
from crm.models import Contact, CustomFieldDefinition
from tests.crm.custom_field_defs import CHOICES, LABELS, FieldType

pytestmark = pytest.mark.django_db


def custom_field_errors(excinfo: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    errors = excinfo.value.message_dict
    assert list(errors) == ["custom_fields"], errors
    return errors["custom_fields"]


def assert_readable_error(message: str, kind: str) -> None:
    """The message names the field and says what is wrong in words, not Python internals."""
    assert re.fullmatch(rf"{re.escape(LABELS[FieldType(kind)])} (must|has) .+\.", message)
    assert "invalid literal" not in message


GOOD_VALUES = [
    # (field type, value given, value stored)
    ("text", "Prefers email", "Prefers email"),
    ("text", "x" * 255, "x" * 255),
    ("long_text", "Line one\nLine two", "Line one\nLine two"),
    ("long_text", "x" * 10_000, "x" * 10_000),
    ("number", 42, 42),
    ("number", -7, -7),
    ("number", "42", 42),
    ("number", " -7 ", -7),
    ("number", 3.0, 3),
    ("decimal", "12.50", "12.50"),
    ("decimal", " 12.50 ", "12.50"),
    ("decimal", Decimal("0.10"), "0.10"),
    ("decimal", 7, "7"),
    ("decimal", 0.1, "0.1"),  # the float's repr, not 0.1000000000000000055511151231257827
    ("decimal", "-3.25", "-3.25"),
    ("date", "2024-02-29", "2024-02-29"),
    ("date", " 2024-02-29 ", "2024-02-29"),
    ("date", dt.date(2025, 1, 5), "2025-01-05"),
    ("date", dt.datetime(2025, 1, 5, 13, 30, tzinfo=dt.UTC), "2025-01-05"),
    ("boolean", True, True),
    ("boolean", False, False),
    ("boolean", "yes", True),
    ("boolean", "True", True),
    ("boolean", "0", False),
    ("boolean", "no", False),
    ("choice", "gold", "gold"),
    ("multi_choice", ["gold", "silver"], ["gold", "silver"]),
    ("multi_choice", ["silver", "gold", "silver"], ["silver", "gold"]),
    ("multi_choice", ("bronze",), ["bronze"]),
    ("multi_choice", "gold", ["gold"]),
    ("url", "https://example.com/path?q=1", "https://example.com/path?q=1"),
    ("email", "ann.lee@example.com", "ann.lee@example.com"),
]

BAD_VALUES = [
    # (field type, bad value)
    ("text", 5),
    ("text", ["a"]),
    ("text", "x" * 256),
    ("long_text", "x" * 10_001),
    ("long_text", {"a": 1}),
    ("number", True),
    ("number", False),
    ("number", 4.5),
    ("number", "4.5"),
    ("number", "forty"),
    ("number", "--5"),
    ("number", "²"),
    ("number", float("inf")),
    ("number", [1]),
    ("decimal", "twelve"),
    ("decimal", "NaN"),
    ("decimal", "Infinity"),
    ("decimal", float("nan")),
    ("decimal", True),
    ("decimal", [1]),
    ("decimal", {"amount": 1}),
    ("date", "2024-02-30"),
    ("date", "31/12/2024"),
    ("date", "yesterday"),
    ("date", 20240101),
    ("date", True),
    ("boolean", "maybe"),
    ("boolean", 1),
    ("boolean", [True]),
    ("choice", "platinum"),
    ("choice", "Gold"),
    ("choice", ["gold"]),
    ("choice", 1),
    ("multi_choice", ["gold", "platinum"]),
    ("multi_choice", [["gold"]]),
    ("multi_choice", {"gold": True}),
    ("multi_choice", 5),
    ("url", "not a url"),
    ("url", "example.com"),
    ("url", "javascript:alert(1)"),
    ("url", 42),
    ("email", "ann@"),
    ("email", "ann.example.com"),
    ("email", ["ann@example.com"]),
]


# --- validate_custom_fields -------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "given", "stored"), GOOD_VALUES)
def test_good_value_is_stored_in_normalised_form(
    definitions: dict[str, CustomFieldDefinition], kind: str, given: Any, stored: Any
) -> None:
    cleaned = validate_custom_fields("contact", {kind: given})
    assert cleaned == {kind: stored}
    assert type(cleaned[kind]) is type(stored)


@pytest.mark.parametrize(("kind", "bad"), BAD_VALUES)
def test_bad_value_is_a_custom_fields_error_naming_the_label(
    definitions: dict[str, CustomFieldDefinition], kind: str, bad: Any
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_custom_fields("contact", {kind: bad})
    (message,) = custom_field_errors(excinfo)
    assert_readable_error(message, kind)


@pytest.mark.parametrize("empty", ["", None, []])
def test_empty_optional_value_is_dropped(
    definitions: dict[str, CustomFieldDefinition], empty: Any
) -> None:
    assert validate_custom_fields("contact", {"text": empty, "number": 3}) == {"number": 3}


def test_every_type_at_once_is_accepted(definitions: dict[str, CustomFieldDefinition]) -> None:
    values = {kind: given for kind, given, _ in GOOD_VALUES}
    cleaned = validate_custom_fields("contact", values)
    assert set(cleaned) == set(FieldType.values)


def test_unknown_key_is_a_custom_fields_error_naming_the_key(
    definitions: dict[str, CustomFieldDefinition],
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_custom_fields("contact", {"shoe_size": 44})
    (message,) = custom_field_errors(excinfo)
    assert "shoe_size" in message


def test_key_defined_for_another_entity_is_unknown(
    definitions: dict[str, CustomFieldDefinition],
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_custom_fields("company", {"text": "hello"})
    (message,) = custom_field_errors(excinfo)
    assert "'text'" in message


@pytest.mark.parametrize("values", [{}, {"note": ""}, {"note": None}])
def test_missing_required_value_is_a_custom_fields_error_naming_the_label(
    values: dict[str, Any],
) -> None:
    CustomFieldDefinitionFactory(entity="contact", key="note", label="Call note", required=True)
    with pytest.raises(ValidationError) as excinfo:
        validate_custom_fields("contact", values)
    assert custom_field_errors(excinfo) == ["Call note is required."]


def test_required_field_given_a_bad_value_reports_the_value_not_its_absence() -> None:
    CustomFieldDefinitionFactory(
        entity="contact", key="score", label="Score", field_type="number", required=True
    )
    with pytest.raises(ValidationError) as excinfo:
        validate_custom_fields("contact", {"score": "lots"})
    assert custom_field_errors(excinfo) == ["Score must be a whole number."]


def test_required_field_with_a_value_is_accepted() -> None:
    CustomFieldDefinitionFactory(entity="contact", key="note", label="Call note", required=True)
    assert validate_custom_fields("contact", {"note": "Call Monday"}) == {"note": "Call Monday"}


def test_every_bad_field_is_reported_at_once(
    definitions: dict[str, CustomFieldDefinition],
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_custom_fields("contact", {"number": "x", "date": "x", "shoe_size": 1})
    messages = custom_field_errors(excinfo)
    assert len(messages) == 3
    assert any(m.startswith(LABELS[FieldType.NUMBER]) for m in messages)
    assert any(m.startswith(LABELS[FieldType.DATE]) for m in messages)


@pytest.mark.parametrize("values", [["a"], "text", 42, True])
def test_values_that_are_not_an_object_are_a_custom_fields_error(values: Any) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_custom_fields("contact", values)
    assert custom_field_errors(excinfo)


def test_none_is_no_custom_fields() -> None:
    assert validate_custom_fields("contact", None) == {}


@override_settings(CUSTOM_FIELDS_MAX_BYTES=100)
def test_values_over_the_byte_limit_are_a_custom_fields_error(
    definitions: dict[str, CustomFieldDefinition],
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_custom_fields("contact", {"long_text": "x" * 100})
    (message,) = custom_field_errors(excinfo)
    assert "limit is 100" in message


@override_settings(CUSTOM_FIELDS_MAX_BYTES=100)
def test_values_under_the_byte_limit_are_accepted(
    definitions: dict[str, CustomFieldDefinition],
) -> None:
    assert validate_custom_fields("contact", {"long_text": "x" * 70})


@override_settings(CUSTOM_FIELDS_MAX_BYTES=100)
def test_byte_limit_counts_accented_text_as_stored_utf8_not_as_escapes(
    definitions: dict[str, CustomFieldDefinition],
) -> None:
    # 35 x "é" is 70 bytes of UTF-8 (as PostgreSQL stores it), 210 bytes as \u00e9 escapes.
    assert validate_custom_fields("contact", {"long_text": "é" * 35}) == {"long_text": "é" * 35}


def test_definitions_passed_in_are_used_instead_of_a_query(
    django_assert_num_queries: Any,
) -> None:
    definition = CustomFieldDefinitionFactory.build(
        key="tier", field_type="choice", choices=CHOICES
    )
    with django_assert_num_queries(0):
        assert validate_custom_fields("contact", {"tier": "gold"}, {"tier": definition}) == {
            "tier": "gold"
        }


# --- the model full_clean() path ----------------------------------------------------------------


@pytest.mark.parametrize(("kind", "given", "stored"), GOOD_VALUES)
def test_full_clean_normalises_good_values_and_they_round_trip(
    definitions: dict[str, CustomFieldDefinition], kind: str, given: Any, stored: Any
) -> None:
    contact = ContactFactory()
    contact.custom_fields = {kind: given}
    contact.full_clean()
    assert contact.custom_fields == {kind: stored}
    contact.save()
    assert Contact.objects.get(pk=contact.pk).custom_fields == {kind: stored}


@pytest.mark.parametrize(("kind", "bad"), BAD_VALUES)
def test_full_clean_reports_bad_values_on_custom_fields(
    definitions: dict[str, CustomFieldDefinition], kind: str, bad: Any
) -> None:
    contact = ContactFactory()
    contact.custom_fields = {kind: bad}
    with pytest.raises(ValidationError) as excinfo:
        contact.full_clean()
    (message,) = custom_field_errors(excinfo)
    assert_readable_error(message, kind)


@pytest.mark.parametrize(
    "values", [["gold"], "gold", 7, {"shoe_size": 44}, {"multi_choice": {"gold", "silver"}}]
)
def test_full_clean_reports_malformed_custom_fields_without_crashing(
    definitions: dict[str, CustomFieldDefinition], values: Any
) -> None:
    contact = ContactFactory()
    contact.custom_fields = values
    with pytest.raises(ValidationError) as excinfo:
        contact.full_clean()
    assert "custom_fields" in excinfo.value.message_dict


def test_full_clean_reports_a_missing_required_value_by_label() -> None:
    CustomFieldDefinitionFactory(entity="contact", key="tier", label="Tier", required=True)
    contact = ContactFactory()
    with pytest.raises(ValidationError) as excinfo:
        contact.full_clean()
    assert custom_field_errors(excinfo) == ["Tier is required."]


@pytest.mark.parametrize(
    ("factory", "entity"),
    [
        (CompanyFactory, "company"),
        (ContactFactory, "contact"),
        (LeadFactory, "lead"),
        (DealFactory, "deal"),
        (ContractFactory, "contract"),
        (TaskFactory, "task"),
        (DocumentFactory, "document"),
        (InvoiceFactory, "invoice"),
    ],
)
def test_each_entity_validates_against_its_own_definitions(factory: Any, entity: str) -> None:
    CustomFieldDefinitionFactory(entity=entity, key="budget", label="Budget", field_type="decimal")
    other = "company" if entity != "company" else "contact"
    CustomFieldDefinitionFactory(entity=other, key="region", label="Region")
    record = factory()

    record.custom_fields = {"budget": "1500.00"}
    record.full_clean()
    assert record.custom_fields == {"budget": "1500.00"}

    record.custom_fields = {"budget": "lots"}
    with pytest.raises(ValidationError) as excinfo:
        record.full_clean()
    assert custom_field_errors(excinfo) == ["Budget must be a number."]

    record.custom_fields = {"region": "EMEA"}
    with pytest.raises(ValidationError) as excinfo:
        record.full_clean()
    assert custom_field_errors(excinfo) == ["Unknown custom field 'region'."]
