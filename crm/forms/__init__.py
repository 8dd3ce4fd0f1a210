"""Forms of the admin and the app's pages. Modules by area: `custom_fields` (the mixin that
renders admin-defined fields), and one module per area of the sales workspace."""

from crm.forms.custom_fields import (
    CUSTOM_FIELD_PREFIX,
    CustomFieldsFormMixin,
    build_form_field,
    custom_field_name,
)

__all__ = ["CUSTOM_FIELD_PREFIX", "CustomFieldsFormMixin", "build_form_field", "custom_field_name"]
