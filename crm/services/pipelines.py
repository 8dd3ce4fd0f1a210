"""Pipelines and their stages."""

from __future__ import annotations

from django.db import transaction

from crm.models import Pipeline, Stage

# (name, probability %, won, lost): a common B2B sales process.
DEFAULT_STAGES: list[tuple[str, int, bool, bool]] = [
    ("Qualification", 10, False, False),
    ("Needs analysis", 25, False, False),
    ("Proposal", 50, False, False),
    ("Negotiation", 75, False, False),
    ("Closed won", 100, True, False),
    ("Closed lost", 0, False, True),
]


@transaction.atomic
def pipeline_ensure_default(*, name: str = "Sales") -> Pipeline:
    """Return the default pipeline, creating "Sales" with the standard stages if there is none.

    Safe to call repeatedly (migrations of demo data, first start, tests): an existing default
    pipeline is returned untouched, whatever its stages.
    """
    existing = Pipeline.objects.default()
    if existing is not None:
        return existing
    pipeline = Pipeline(name=name, is_default=True)
    pipeline.full_clean()
    pipeline.save()
    for position, (stage_name, probability, won, lost) in enumerate(DEFAULT_STAGES):
        stage = Stage(
            pipeline=pipeline,
            name=stage_name,
            position=position,
            probability=probability,
            is_won=won,
            is_lost=lost,
        )
        stage.full_clean()
        stage.save()
    return pipeline
