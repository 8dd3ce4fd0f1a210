"""Leads: converting one into a contact (and optionally a company and a deal)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from crm import permissions
from crm.models import Company, Contact, Deal, Lead, Pipeline, Stage
from crm.services.deals import deal_status_for_stage


@dataclass(frozen=True)
class LeadConversion:
    lead: Lead
    contact: Contact
    company: Company | None
    deal: Deal | None


def _first_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.order_by("position").first()
    if stage is None:
        raise ValidationError({"stage": f"The pipeline “{pipeline}” has no stages."})
    return stage


@transaction.atomic
def lead_convert(
    *,
    user: User,
    lead: Lead,
    create_company: bool = False,
    company_name: str = "",
    company: Company | None = None,
    create_deal: bool = False,
    deal_name: str = "",
    amount: Decimal | None = None,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    expected_close_date: dt.date | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    position: str | None = None,
) -> LeadConversion:
    """Turn `lead` into a contact owned by `user`, linked to a new company (`create_company`,
    named `company_name` or the lead's company name) or an existing visible `company`, and
    optionally a new deal (`create_deal`) on `stage` (default: the first stage of `pipeline`,
    default: the default pipeline) with the contact as primary contact. The lead becomes
    converted and points at what it became; the lead's tags and sharing go to every new
    record. Contact fields default to the lead's.

    Raises PermissionDenied when `user` may not change the lead or see `company`, and
    ValidationError when the lead was already converted or a record does not validate
    (nothing is saved then: one transaction).
    """
    if not permissions.can_edit(user, lead):
        raise PermissionDenied("You may not convert this lead.")
    # Locked: two people converting the same lead at once must not make two contacts.
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status == Lead.Status.CONVERTED:
        raise ValidationError("This lead has already been converted.")
    if create_company and company is not None:
        raise ValidationError("Either create a company or pick an existing one, not both.")
    if company is not None and not permissions.can_view(user, company):
        raise PermissionDenied("You may not link this company.")
    shared = {"owner": user, "shared_with_team": lead.shared_with_team, "tags": list(lead.tags)}

    if create_company:
        company = Company(name=(company_name or lead.company_name).strip(), **shared)
        company.full_clean()
        company.save()

    contact = Contact(
        first_name=lead.first_name if first_name is None else first_name,
        last_name=lead.last_name if last_name is None else last_name,
        email=lead.email if email is None else email,
        phone=lead.phone if phone is None else phone,
        position=lead.job_title if position is None else position,
        company=company,
        **shared,
    )
    contact.full_clean()
    contact.save()

    deal = None
    if create_deal:
        if stage is None:
            pipeline = pipeline or Pipeline.objects.default()
            if pipeline is None:
                raise ValidationError({"stage": "There is no default pipeline; pick a stage."})
            stage = _first_stage(pipeline)
        deal = Deal(
            name=deal_name.strip() or f"{contact} deal",
            amount=amount if amount is not None else Decimal(0),
            pipeline_id=pipeline.pk if pipeline is not None else stage.pipeline_id,
            stage=stage,
            status=deal_status_for_stage(stage),
            closed_at=timezone.now() if stage.is_won or stage.is_lost else None,
            expected_close_date=expected_close_date,
            company=company,
            primary_contact=contact,
            **shared,
        )
        deal.full_clean()
        deal.save()
        deal.contacts.add(contact)

    lead.status = Lead.Status.CONVERTED
    lead.converted_at = timezone.now()
    lead.converted_contact = contact
    lead.converted_deal = deal
    if company is not None:
        lead.company = company
    lead.full_clean()
    lead.save()
    return LeadConversion(lead=lead, contact=contact, company=company, deal=deal)
