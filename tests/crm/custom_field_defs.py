"""One custom field definition per type on contacts, shared by the custom-field tests."""

from __future__ import annotations

from crm.models import CustomFieldDefinition

FieldType = CustomFieldDefinition.FieldType
CHOICES = ["gold", "silver", "bronze"]

# One definition per type on contacts: key = the type's value, label = "<Type> field".
LABELS = {kind: f"{kind.label} field" for kind in FieldType}
