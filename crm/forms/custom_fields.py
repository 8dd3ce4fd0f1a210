"""Form building blocks shared by the admin and the app's pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from crm.custom_fields import LONG_TEXT_MAX, TEXT_MAX, definitions_for, validate_custom_fields
from crm.forms.errors import FormErrorsMixin
from crm.models import CustomFieldDefinition

FieldType = CustomFieldDefinition.FieldType

# Form field names for custom fields: prefixed so a key can never shadow a model field.
CUSTOM_FIELD_PREFIX = "cf_"


def custom_field_name(key: str) -> str:
    return f"{CUSTOM_FIELD_PREFIX}{key}"


def _choices(definition: CustomFieldDefinition) -> list[tuple[str, str]]:
    return [(choice, choice) for choice in definition.choices]


def build_form_field(definition: CustomFieldDefinition) -> forms.Field:
    """The form field that edits one custom field: its type, label, help text, required flag."""
    common: dict[str, Any] = {
        "label": definition.label,
        "help_text": definition.help_text,
        "required": definition.required,
    }
    kind = definition.field_type
    if kind == FieldType.TEXT:
        return forms.CharField(max_length=TEXT_MAX, **common)
    if kind == FieldType.LONG_TEXT:
        return forms.CharField(max_length=LONG_TEXT_MAX, widget=forms.Textarea, **common)
    if kind == FieldType.NUMBER:
        return forms.IntegerField(**common)
    if kind == FieldType.DECIMAL:
        return forms.DecimalField(**common)
    if kind == FieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == FieldType.BOOLEAN:
        # Yes / no / unset: a checkbox cannot tell "no" from "not answered", and a required
        # yes/no field must accept "no". Required-ness is checked by validate_custom_fields.
        return forms.NullBooleanField(**{**common, "required": False})
    if kind == FieldType.CHOICE:
        return forms.ChoiceField(choices=[("", "---------"), *_choices(definition)], **common)
    if kind == FieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=_choices(definition), widget=forms.CheckboxSelectMultiple, **common
        )
    if kind == FieldType.URL:
        return forms.URLField(max_length=TEXT_MAX, assume_scheme="https", **common)
    if kind == FieldType.EMAIL:
        return forms.EmailField(**common)
    raise ValueError(f"Unknown custom field type {kind!r}")  # pragma: no cover


def _initial(definition: CustomFieldDefinition, stored: Any) -> Any:
    """A stored JSON value as its form field expects it (decimals and dates are strings)."""
    try:
        if definition.field_type == FieldType.DECIMAL:
            return Decimal(str(stored))
        if definition.field_type == FieldType.DATE and isinstance(stored, str):
            return dt.date.fromisoformat(stored)
    except (InvalidOperation, ValueError):
        pass  # shown as stored; re-validated on submit
    return stored


class CustomFieldsFormMixin(FormErrorsMixin):
    """Mixin for ModelForms of CustomizableRecord models: one real field per definition.

    Adds a form field `cf_<key>` for each CustomFieldDefinition of the model's entity (ordered
    by position), filled from `instance.custom_fields`. On clean, the values go through
    validate_custom_fields, the same rules as every other write path; a wrong value is an error
    on its own field, a record-wide problem (the size cap) a non-field error, never a 500.
    The raw `custom_fields` JSON is never a form field, so it cannot be posted around the rules.
    Keys whose definition was deleted are dropped on save: the validator refuses unknown keys,
    and keeping them would make the record unsaveable.

    Use it before ModelForm: `class ContactForm(CustomFieldsFormMixin, forms.ModelForm)`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.custom_field_entity: str = self._meta.model.CUSTOM_FIELDS_ENTITY
        self.custom_field_definitions = definitions_for(self.custom_field_entity)
        self.fields.pop("custom_fields", None)
        stored = self.instance.custom_fields or {}
        for key, definition in self.custom_field_definitions.items():
            name = custom_field_name(key)
            self.fields[name] = build_form_field(definition)
            if key in stored and name not in self.initial:
                self.initial[name] = _initial(definition, stored[key])

    @property
    def custom_field_names(self) -> list[str]:
        return [custom_field_name(key) for key in self.custom_field_definitions]

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        values: dict[str, Any] = {}
        valid = True
        for key, definition in self.custom_field_definitions.items():
            name = custom_field_name(key)
            if self.has_error(name):  # the form field already refused the value
                valid = False
                continue
            values[key] = cleaned_data.get(name)
            try:
                validate_custom_fields(
                    self.custom_field_entity, {key: values[key]}, definitions={key: definition}
                )
            except ValidationError as exc:
                self.add_error(name, exc.message_dict["custom_fields"])
                valid = False
        if valid:
            try:
                self.instance.custom_fields = validate_custom_fields(
                    self.custom_field_entity, values, definitions=self.custom_field_definitions
                )
            except ValidationError as exc:
                self.add_error(None, exc.message_dict["custom_fields"])
        return cleaned_data
