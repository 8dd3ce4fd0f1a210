"""Errors from a service or a model on forms that show only some of the fields.

A service's `full_clean()` or a model's `clean()` may report a field the form does not show
(a one-field inline form, a sales rep's form without the owner, `custom_fields`, which is never a
form field). Django's `add_error` raises ValueError for those, which is a 500. Every form that
shows a service's errors uses this mixin instead: such errors become form-wide errors naming
their field, and nothing is lost.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


class FormErrorsMixin:
    """Put before the form class: `class NoteForm(FormErrorsMixin, forms.Form)`."""

    fields: dict[str, Any]

    def field_label(self, name: str) -> str:
        """How a form-wide error names a field it cannot be shown on."""
        return name.replace("_", " ").capitalize()

    def add_error(self, field: str | None, error: Any) -> None:
        if not isinstance(error, ValidationError):
            error = ValidationError(error)
        if field is not None and field not in self.fields:
            field, error = None, ValidationError(error.messages)
        if field is None and hasattr(error, "error_dict"):
            kept: dict[str, list[Any]] = {}
            moved: list[str] = []
            for name, errors in error.error_dict.items():
                messages = ValidationError(errors).messages
                if name == NON_FIELD_ERRORS or name in self.fields:
                    kept[name] = errors
                elif name == "custom_fields":
                    moved += messages  # each already names its custom field
                else:
                    moved += [f"{self.field_label(name)}: {message}" for message in messages]
            if moved:
                kept[NON_FIELD_ERRORS] = [*kept.get(NON_FIELD_ERRORS, []), *moved]
            error = ValidationError(kept)
        super().add_error(field, error)  # type: ignore[misc]
