"""Lead conversion: the contact to create, a company to create or link, an optional deal."""

from __future__ import annotations

from typing import Any

from django import forms

from crm.forms.choices import ShortModelChoiceField
from crm.forms.widgets import RecordChoiceField
from crm.models import Company, Lead, Pipeline, Stage

# Exact name matches considered for the default company (the field itself offers every
# visible company: a select on a small install, a type-ahead on a big one).
COMPANY_CHOICES_LIMIT = 10


def matching_companies(*, user: Any, lead: Lead) -> list[Company]:
    """Visible companies the lead's company is likely to be: the one it is linked to, then
    those named exactly like its company name (case-insensitive)."""
    visible = Company.objects.visible_to(user).order_by("name", "pk").only("id", "name")
    if not lead.company_name and not lead.company_id:
        return []
    query = visible.filter(name__iexact=lead.company_name.strip()) if lead.company_name else None
    if lead.company_id:
        linked = visible.filter(pk=lead.company_id)
        query = linked if query is None else query | linked
    return list(query[:COMPANY_CHOICES_LIMIT])


class LeadConvertForm(forms.Form):
    first_name = forms.CharField(max_length=120, required=False)
    last_name = forms.CharField(max_length=120)
    email = forms.EmailField(max_length=254, required=False)
    phone = forms.CharField(max_length=64, required=False)
    position = forms.CharField(label="Job title", max_length=160, required=False)

    create_company = forms.BooleanField(label="Create a new company", required=False)
    company_name = forms.CharField(label="New company name", max_length=255, required=False)
    company = RecordChoiceField(
        label="Or link an existing company",
        queryset=Company.objects.none(),
        entity="company",
        required=False,
        empty_label="No company",
    )

    create_deal = forms.BooleanField(label="Create a deal", required=False)
    deal_name = forms.CharField(max_length=255, required=False)
    amount = forms.DecimalField(max_digits=18, decimal_places=2, min_value=0, required=False)
    stage = ShortModelChoiceField(
        label="Pipeline stage", queryset=Stage.objects.none(), required=False, empty_label=None
    )
    expected_close_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, user: Any, lead: Lead, **kwargs: Any) -> None:
        matches = matching_companies(user=user, lead=lead)
        default_pipeline = Pipeline.objects.default()
        stages = Stage.objects.filter(pipeline__is_active=True).select_related("pipeline")
        stages = stages.order_by("-pipeline__is_default", "pipeline__position", "position")
        first_stage = next(
            (s for s in stages if default_pipeline and s.pipeline_id == default_pipeline.pk),
            None,
        )
        # The lead's company, else an exact name match: most conversions link, not create.
        default_company = next((c for c in matches if c.pk == lead.company_id), None) or (
            matches[0] if matches else None
        )
        kwargs.setdefault(
            "initial",
            {
                "first_name": lead.first_name,
                "last_name": lead.last_name,
                "email": lead.email,
                "phone": lead.phone,
                "position": lead.job_title,
                "create_company": bool(lead.company_name) and default_company is None,
                "company_name": lead.company_name,
                "company": default_company,
                "deal_name": f"{lead.company_name or lead} deal",
                "stage": first_stage,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = Company.objects.visible_to(user).order_by("name")
        self.fields["stage"].queryset = stages

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("create_company"):
            if data.get("company"):
                self.add_error("company", "Create a new company or link one, not both.")
            if not (data.get("company_name") or "").strip():
                self.add_error("company_name", "Name the new company.")
        if data.get("create_deal") and not data.get("stage"):
            self.add_error("stage", "Pick the stage the deal starts in.")
        return data

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned data as lead_convert's keyword arguments."""
        data = self.cleaned_data
        create_company = bool(data.get("create_company"))
        create_deal = bool(data.get("create_deal"))
        return {
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "email": data["email"],
            "phone": data["phone"],
            "position": data["position"],
            "create_company": create_company,
            "company_name": data.get("company_name") or "",
            "company": None if create_company else data.get("company"),
            "create_deal": create_deal,
            "deal_name": data.get("deal_name") or "",
            "amount": data.get("amount"),
            "stage": data.get("stage") if create_deal else None,
            "expected_close_date": data.get("expected_close_date"),
        }
