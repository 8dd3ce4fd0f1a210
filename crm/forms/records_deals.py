"""Create / edit forms of the money records: deals and contracts."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

from crm.forms.records import RecordForm, RecordMeta, TagsField, fields_of, with_current
from crm.models import Campaign, Contract, Deal, DealType, Pipeline, Stage

OWNERSHIP = ("Ownership", ["owner", "shared_with_team"])
CURRENCY = re.compile(r"^[A-Z]{3}$")

DEAL_FIELDSETS = [
    ("Deal", ["name", "company", "primary_contact", "pipeline", "stage"]),
    ("Value", ["amount", "currency", "expected_close_date"]),
    ("Details", ["type", "campaign", "next_step", "description", "tags"]),
    OWNERSHIP,
]

CONTRACT_FIELDSETS = [
    ("Contract", ["title", "company", "deal", "type", "status"]),
    ("Value", ["value", "currency"]),
    (
        "Dates",
        ["start_date", "end_date", "renewal_reminder_date", "customer_signed_date",
         "company_signed_date"],
    ),
    ("Details", ["description"]),
    OWNERSHIP,
]  # fmt: skip


def clean_currency_code(value: str) -> str:
    """Currency codes as the database keeps them (three capitals), with a readable error."""
    code = (value or "").strip().upper()
    if not CURRENCY.match(code):
        raise ValidationError("Use a three-letter currency code, such as USD or EUR.")
    return code


class DealForm(RecordForm):
    tags = TagsField()
    fieldsets = DEAL_FIELDSETS
    linked = {"company": "view", "primary_contact": "view"}

    class Meta(RecordMeta):
        model = Deal
        fields = fields_of(DEAL_FIELDSETS)

    def setup_choices(self) -> None:
        self.limit_lookup("type", DealType.objects.all())
        self.limit_lookup("campaign", Campaign.objects.all())
        if "pipeline" in self.fields:
            self.fields["pipeline"].queryset = with_current(
                Pipeline.objects.filter(is_active=True), self.instance.pipeline_id
            )
        if "stage" in self.fields:
            # Every active pipeline's stages, labelled "Pipeline: Stage"; Deal.clean() refuses
            # a stage of another pipeline than the one chosen, as an error on this field.
            self.fields["stage"].queryset = with_current(
                Stage.objects.filter(pipeline__is_active=True), self.instance.stage_id
            ).select_related("pipeline")
            self.fields["stage"].help_text = "A stage of the chosen pipeline."
            if self.only == "stage" and self.instance.pipeline_id:
                # Inline, the pipeline stays: offer only its stages.
                stage = self.fields["stage"]
                stage.queryset = stage.queryset.filter(pipeline_id=self.instance.pipeline_id)
                stage.help_text = ""
        if self.instance._state.adding and not self.is_bound:
            self._initial_pipeline()

    def _initial_pipeline(self) -> None:
        pipeline = Pipeline.objects.filter(is_active=True).default()
        if pipeline is None:
            return
        self.initial.setdefault("pipeline", pipeline.pk)
        first = pipeline.stages.order_by("position").values_list("pk", flat=True).first()
        if first is not None:
            self.initial.setdefault("stage", first)

    def clean_currency(self) -> str:
        return clean_currency_code(self.cleaned_data.get("currency", ""))


class ContractForm(RecordForm):
    fieldsets = CONTRACT_FIELDSETS
    linked = {"company": "view", "deal": "view"}

    class Meta(RecordMeta):
        model = Contract
        fields = fields_of(CONTRACT_FIELDSETS)

    def clean_currency(self) -> str:
        return clean_currency_code(self.cleaned_data.get("currency", ""))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start = cleaned.get("start_date", self.instance.start_date)
        end = cleaned.get("end_date", self.instance.end_date)
        if start and end and end < start:
            # contract_ends_after_start, as an error next to the date to fix.
            field = "end_date" if "end_date" in self.fields else "start_date"
            self.add_error(field, "The end date is before the start date.")
        return cleaned
