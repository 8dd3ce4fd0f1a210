"""Fixtures shared by the CRM tests."""

from __future__ import annotations

import pytest

from crm.factories import CustomFieldDefinitionFactory
from crm.models import CustomFieldDefinition, Pipeline, Stage
from crm.services.pipelines import pipeline_ensure_default
from tests.crm.custom_field_defs import CHOICES, LABELS, FieldType
from tests.crm.pagination_helpers import EVERY_THIRD, add_industries, analyze, probe_filter


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


# --- counting (tests/crm/test_pagination*.py) ---------------------------------------------


@pytest.fixture
def low_threshold(settings) -> None:
    settings.ESTIMATED_COUNT_THRESHOLD = 100


@pytest.fixture
def sampled_table(low_threshold, monkeypatch) -> None:
    """3,000 industries, analysed, and samples of about 600 rows (a fifth of the table)."""
    monkeypatch.setattr("crm.pagination.SAMPLE_ROWS", 600)
    add_industries(3000)
    analyze()


@pytest.fixture
def every_third(sampled_table):
    """The industries passing a correlated subquery test: every third (1,000)."""
    from crm.models import Industry

    return probe_filter(Industry.objects.all())(position__in=EVERY_THIRD)
