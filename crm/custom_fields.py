"""Validation of custom field values against their definitions.

Every write path that goes through the app (forms, admin, services) calls this through
CustomizableRecord.clean(). Values are normalised to JSON-friendly forms:
number -> int, decimal -> canonical string (no float rounding), date -> "YYYY-MM-DD",
boolean -> bool, multi-choice -> list of strings. An unknown key or a wrong type is a
ValidationError on the `custom_fields` field, naming the key, never a 500.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

from crm.models.custom_fields import CustomFieldDefinition

FieldType = CustomFieldDefinition.FieldType
TEXT_MAX = 255
LONG_TEXT_MAX = 10_000


def definitions_for(entity: str) -> dict[str, CustomFieldDefinition]:
    return {d.key: d for d in CustomFieldDefinition.objects.filter(entity=entity)}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _clean_value(definition: CustomFieldDefinition, value: Any) -> Any:
    kind = definition.field_type
    if kind in (FieldType.TEXT, FieldType.LONG_TEXT):
        if not isinstance(value, str):
            raise ValueError("must be text")
        limit = TEXT_MAX if kind == FieldType.TEXT else LONG_TEXT_MAX
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        return value
    if kind == FieldType.NUMBER:
        if isinstance(value, bool):
            raise ValueError("must be a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            # int() is the parser: str.isdigit() lets through "--5" and "²", which int()
            # then refuses with a message about Python, not about the field.
            try:
                return int(value.strip())
            except ValueError:
                raise ValueError("must be a whole number") from None
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ValueError("must be a whole number")
    if kind == FieldType.DECIMAL:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not number.is_finite():
            raise ValueError("must be a finite number")
        return str(number)
    if kind == FieldType.DATE:
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                raise ValueError("must be a date (YYYY-MM-DD)") from None
        raise ValueError("must be a date (YYYY-MM-DD)")
    if kind == FieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ValueError("must be yes or no")
    if kind == FieldType.CHOICE:
        if value not in definition.choices:
            raise ValueError(f"must be one of: {', '.join(definition.choices)}")
        return value
    if kind == FieldType.MULTI_CHOICE:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise ValueError("must be a list of choices")
        unknown = [v for v in value if v not in definition.choices]
        if unknown:
            raise ValueError(f"has values that are not choices: {', '.join(map(str, unknown))}")
        return list(dict.fromkeys(value))  # de-duplicated, order kept
    if kind == FieldType.URL:
        if not isinstance(value, str):
            raise ValueError("must be a URL")
        try:
            URLValidator()(value)
        except ValidationError:
            raise ValueError("must be a valid URL") from None
        return value
    if kind == FieldType.EMAIL:
        if not isinstance(value, str):
            raise ValueError("must be an email address")
        try:
            EmailValidator()(value)
        except ValidationError:
            raise ValueError("must be a valid email address") from None
        return value
    raise ValueError(f"has an unknown field type {kind!r}")  # pragma: no cover


def validate_custom_fields(
    entity: str,
    values: Any,
    definitions: dict[str, CustomFieldDefinition] | None = None,
) -> dict[str, Any]:
    """Return `values` cleaned against `entity`'s definitions, or raise ValidationError.

    Errors are collected for every key at once, each message naming the field's label, so a
    form can show them all; empty values are dropped (an unset optional field has no key).
    """
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ValidationError({"custom_fields": "Custom fields must be a JSON object."})
    if definitions is None:
        definitions = definitions_for(entity)

    errors: list[str] = []
    cleaned: dict[str, Any] = {}
    invalid: set[str] = set()
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            errors.append(f"Unknown custom field {key!r}.")
            continue
        if _empty(value):
            continue
        try:
            cleaned[key] = _clean_value(definition, value)
        except ValueError as exc:
            errors.append(f"{definition.label} {exc}.")
            invalid.add(key)
    for key, definition in definitions.items():
        # A required field given a bad value already has its error; "is required" would be
        # wrong there, since the user did fill it in.
        if definition.required and key not in cleaned and key not in invalid:
            errors.append(f"{definition.label} is required.")
    # Measured as PostgreSQL stores it (UTF-8), not as \uXXXX escapes, which would count
    # accented and non-Latin text two to three times over.
    size = len(json.dumps(cleaned, default=str, ensure_ascii=False).encode())
    if size > settings.CUSTOM_FIELDS_MAX_BYTES:
        errors.append(
            f"Custom fields take {size} bytes; the limit is {settings.CUSTOM_FIELDS_MAX_BYTES}."
        )
    if errors:
        raise ValidationError({"custom_fields": errors})
    return cleaned
