"""Database constraints on pipelines, stages and a deal's stage.

Every write bypasses Django's validation (QuerySet.update(), bulk_create or raw SQL), so only
the constraints stand in the way; each refusal names the constraint PostgreSQL reported.
"""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from crm.factories import (
    DealFactory,
    PipelineFactory,
    StageFactory,
)
from crm.models import (
    Deal,
    Pipeline,
    Stage,
)
from tests.crm.constraint_helpers import raw_update, refetch, refused_by

pytestmark = pytest.mark.django_db


# --- pipelines and stages ---------------------------------------------------------------------


def test_two_stages_with_the_same_name_in_one_pipeline_are_refused() -> None:
    pipeline = PipelineFactory()
    StageFactory(pipeline=pipeline, name="Proposal", position=0)
    with refused_by("stage_name_per_pipeline"):
        Stage.objects.bulk_create([Stage(pipeline=pipeline, name="Proposal", position=1)])


def test_the_same_stage_name_in_two_pipelines_is_accepted() -> None:
    StageFactory(pipeline=PipelineFactory(), name="Proposal", position=0)
    StageFactory(pipeline=PipelineFactory(), name="Proposal", position=0)
    assert Stage.objects.filter(name="Proposal").count() == 2


def test_swapping_two_stage_positions_in_one_transaction_is_accepted() -> None:
    pipeline = PipelineFactory()
    first = StageFactory(pipeline=pipeline, position=0)
    second = StageFactory(pipeline=pipeline, position=1)
    with transaction.atomic():
        Stage.objects.filter(pk=first.pk).update(position=1)
        Stage.objects.filter(pk=second.pk).update(position=0)
        # What COMMIT would do: check the deferred constraint now. It holds after the swap.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS stage_position_per_pipeline IMMEDIATE")
    assert refetch(first).position == 1
    assert refetch(second).position == 0


def test_two_stages_left_at_one_position_are_refused_at_commit() -> None:
    pipeline = PipelineFactory()
    StageFactory(pipeline=pipeline, position=0)
    second = StageFactory(pipeline=pipeline, position=1)
    with refused_by("stage_position_per_pipeline"):
        # Deferred: the duplicate is allowed mid-transaction ...
        Stage.objects.filter(pk=second.pk).update(position=0)
        # ... and refused when the transaction would commit.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS stage_position_per_pipeline IMMEDIATE")


def test_the_same_stage_position_in_two_pipelines_is_accepted() -> None:
    StageFactory(pipeline=PipelineFactory(), position=3)
    StageFactory(pipeline=PipelineFactory(), position=3)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS stage_position_per_pipeline IMMEDIATE")
    assert Stage.objects.filter(position=3).count() == 2


def test_stage_probability_over_100_percent_is_refused() -> None:
    stage = StageFactory()
    with refused_by("stage_probability_percent"):
        Stage.objects.filter(pk=stage.pk).update(probability=101)


def test_stage_probability_of_0_and_100_percent_is_accepted() -> None:
    stage = StageFactory()
    Stage.objects.filter(pk=stage.pk).update(probability=100)
    assert refetch(stage).probability == 100
    Stage.objects.filter(pk=stage.pk).update(probability=0)
    assert refetch(stage).probability == 0


def test_negative_stage_probability_is_refused() -> None:
    stage = StageFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_update(Stage, stage.pk, "probability = -1")


def test_stage_both_won_and_lost_is_refused() -> None:
    stage = StageFactory()
    with refused_by("stage_not_won_and_lost"):
        Stage.objects.filter(pk=stage.pk).update(is_won=True, is_lost=True)


@pytest.mark.parametrize(("won", "lost"), [(True, False), (False, True), (False, False)])
def test_stage_won_or_lost_or_neither_is_accepted(won: bool, lost: bool) -> None:
    stage = StageFactory()
    Stage.objects.filter(pk=stage.pk).update(is_won=won, is_lost=lost)
    assert (refetch(stage).is_won, refetch(stage).is_lost) == (won, lost)


def test_a_second_default_pipeline_is_refused() -> None:
    Pipeline.objects.bulk_create([Pipeline(name="Sales", is_default=True)])
    with refused_by("pipeline_single_default"):
        Pipeline.objects.bulk_create([Pipeline(name="Renewals", is_default=True)])


def test_many_non_default_pipelines_are_accepted() -> None:
    Pipeline.objects.bulk_create(
        [Pipeline(name="Sales", is_default=True)]
        + [Pipeline(name=f"Other {n}", is_default=False) for n in range(3)]
    )
    assert Pipeline.objects.filter(is_default=True).count() == 1
    assert Pipeline.objects.filter(is_default=False).count() == 3


# --- a deal's stage belongs to the deal's pipeline --------------------------------------------


def test_deal_moved_to_a_stage_of_another_pipeline_is_refused() -> None:
    deal = DealFactory()
    foreign_stage = StageFactory(pipeline=PipelineFactory())
    with refused_by("deal_stage_in_pipeline_fk"):
        Deal.objects.filter(pk=deal.pk).update(stage=foreign_stage)


def test_deal_inserted_with_a_stage_of_another_pipeline_is_refused() -> None:
    pipeline = PipelineFactory()
    foreign_stage = StageFactory(pipeline=PipelineFactory())
    deal = Deal(name="Mismatched", pipeline=pipeline, stage=foreign_stage, currency="USD")
    with refused_by("deal_stage_in_pipeline_fk"):
        Deal.objects.bulk_create([deal])


def test_deal_moved_to_another_pipeline_with_one_of_its_stages_is_accepted() -> None:
    deal = DealFactory()
    other = PipelineFactory()
    other_stage = StageFactory(pipeline=other)
    Deal.objects.filter(pk=deal.pk).update(pipeline=other, stage=other_stage)
    moved = refetch(deal)
    assert (moved.pipeline_id, moved.stage_id) == (other.pk, other_stage.pk)


def test_stage_moved_to_another_pipeline_takes_its_deals_along() -> None:
    deal = DealFactory()
    other = PipelineFactory()
    # ON UPDATE CASCADE on the composite key keeps the deal consistent with its stage.
    Stage.objects.filter(pk=deal.stage_id).update(pipeline=other)
    assert refetch(deal).pipeline_id == other.pk


def test_deal_full_clean_reports_a_stage_of_another_pipeline_on_the_stage_field() -> None:
    deal = DealFactory()
    deal.stage = StageFactory(pipeline=PipelineFactory())
    with pytest.raises(ValidationError) as excinfo:
        deal.full_clean()
    assert "stage" in excinfo.value.message_dict


def test_deal_full_clean_reports_a_missing_stage_on_the_stage_field() -> None:
    deal = DealFactory()
    deal.stage_id = uuid.uuid4()
    with pytest.raises(ValidationError) as excinfo:
        deal.full_clean()
    assert "stage" in excinfo.value.message_dict


def test_deal_full_clean_accepts_a_stage_of_its_own_pipeline() -> None:
    deal = DealFactory()
    deal.stage = StageFactory(pipeline=deal.pipeline)
    deal.full_clean()
