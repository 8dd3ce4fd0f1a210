"""Fixtures shared by the CRM tests."""

from __future__ import annotations

import pytest

from crm.factories import CustomFieldDefinitionFactory
from crm.models import CustomFieldDefinition, Pipeline, Stage
from crm.services.pipelines import pipeline_ensure_default
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


@pytest.fixture
def pipeline() -> Pipeline:
    """The default "Sales" pipeline with its standard stages."""
    return pipeline_ensure_default()


@pytest.fixture
def stages(pipeline: Pipeline) -> dict[str, Stage]:
    return {stage.name: stage for stage in pipeline.stages.all()}


@pytest.fixture
def audit_mark(db: None) -> int:
    """The newest audit entry's id now: entries after it are the test's own."""
    from django.db.models import Max

    from audit.models import AuditEvent

    return AuditEvent.objects.aggregate(m=Max("id"))["m"] or 0
