"""Fixtures shared by the CRM tests."""

from __future__ import annotations

import pytest

from crm.factories import CustomFieldDefinitionFactory
from crm.models import CustomFieldDefinition
from tests.crm.custom_field_defs import CHOICES, LABELS, FieldType


@pytest.fixture
def definitions() -> dict[str, CustomFieldDefinition]:
    return {
        kind.value: CustomFieldDefinitionFactory(
            entity="contact",
            key=kind.value,
            label=LABELS[kind],
            field_type=kind,
            choices=CHOICES if kind in CustomFieldDefinition.CHOICE_TYPES else [],
        )
        for kind in FieldType
    }
