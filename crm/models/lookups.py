"""Admin-managed reference data: lookups, pipelines and their stages."""

from __future__ import annotations

import uuid

from django.db import models

from .base import Lookup


class Industry(Lookup):
    class Meta(Lookup.Meta):
        verbose_name_plural = "industries"


class DealType(Lookup):
    pass


class Campaign(Lookup):
    description = models.TextField(blank=True)
    status = models.CharField(max_length=40, blank=True)


class DocumentType(Lookup):
    pass


class PipelineQuerySet(models.QuerySet):
    def default(self) -> Pipeline | None:
        """The default pipeline among these (new deals and converted leads land in it; the
        dashboard shows it), or None. At most one exists (pipeline_single_default)."""
        return self.filter(is_default=True).first()


class Pipeline(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120, unique=True)
    position = models.PositiveIntegerField(default=0)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    objects = PipelineQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            # New deals land in the one default pipeline.
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="pipeline_single_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.CASCADE, related_name="stages", db_index=False
    )
    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(
        default=0, help_text="Chance of winning a deal in this stage, in percent."
    )
    is_won = models.BooleanField(default=False)
    is_lost = models.BooleanField(default=False)
    legacy_id = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["pipeline", "position"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_name_per_pipeline"),
            # Reordering swaps positions inside one transaction, so the check waits for commit.
            models.UniqueConstraint(
                fields=["pipeline", "position"],
                name="stage_position_per_pipeline",
                deferrable=models.Deferrable.DEFERRED,
            ),
            # Target of deal (stage_id, pipeline_id): a deal's stage belongs to its pipeline.
            models.UniqueConstraint(fields=["id", "pipeline"], name="stage_id_pipeline_uniq"),
            models.CheckConstraint(
                condition=models.Q(probability__lte=100), name="stage_probability_percent"
            ),
            models.CheckConstraint(
                condition=~models.Q(is_won=True, is_lost=True), name="stage_not_won_and_lost"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pipeline.name}: {self.name}" if self.pipeline_id else self.name
