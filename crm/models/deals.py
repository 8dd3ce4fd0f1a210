"""Money: deals on a pipeline, contracts, invoices."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F

from crm.search import SearchText, icontains_index

from .base import (
    CustomizableRecord,
    HasDetailPage,
    currency_check,
    default_currency,
    json_type_check,
    non_negative,
)
from .lookups import Campaign, DealType, Pipeline, Stage
from .parties import Company, Contact, search_indexes, tags_field
from .search_words import search_word_triggers
from .stage_totals import stage_total_triggers


class Deal(HasDetailPage, CustomizableRecord):
    CUSTOM_FIELDS_ENTITY = "deal"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    name = models.CharField(max_length=255)
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
        db_index=False,
    )
    primary_contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="primary_deals",
        db_index=False,
    )
    contacts = models.ManyToManyField(Contact, blank=True, related_name="deals")
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="deals", db_index=False
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, related_name="deals", db_index=False
    )
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default=default_currency)
    expected_close_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    type = models.ForeignKey(
        DealType,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
        db_index=False,
    )
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
        db_index=False,
    )
    next_step = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    tags = tags_field()
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="watched_deals"
    )
    search_text = models.GeneratedField(
        expression=SearchText("name"), output_field=models.TextField(), db_persist=True
    )

    class Meta(CustomizableRecord.Meta):
        # Stage totals (crm.models.stage_totals) and the search dictionary
        # (crm.models.search_words) follow every write, whoever makes it.
        triggers = [
            *CustomizableRecord.Meta.triggers,
            *stage_total_triggers,
            *search_word_triggers,
        ]
        indexes = [
            *CustomizableRecord.Meta.indexes,
            *search_indexes("deal"),
            # Pipeline board: open deals of a pipeline, grouped by stage.
            models.Index(fields=["pipeline", "status", "stage"], name="deal_board_idx"),
            # A board column's first cards, soonest close first (ORDER BY expected_close_date
            # LIMIT 50 per stage, read in index order), and the stage FK (PROTECT checks).
            models.Index(fields=["stage", "expected_close_date"], name="deal_stage_close_idx"),
            # The board's won and lost columns: a stage's deals closed in the last 30 days,
            # most recent first, and their totals (a month of closings, not every deal ever
            # closed; the same IN list as the board's query, so the partial index applies).
            # The totals read only the index (the INCLUDE columns are what they and the
            # visibility rule read): at 1M contacts 4,977 closings were 3,619 heap pages, 4.5-5.7
            # ms a board; index-only 0.8-1.0 ms (docs/benchmarks.md, session 13).
            models.Index(
                fields=["stage", "-closed_at"],
                condition=models.Q(status__in=["won", "lost"]),
                include=["pipeline", "owner", "shared_with_team", "currency", "amount", "id"],
                name="deal_closed_recent_idx",
            ),
            # Dashboard "closing this month" and list sort by close date.
            models.Index(fields=["status", "expected_close_date"], name="deal_status_close_idx"),
            # Company page: the Deals panel, a company's deals latest change first (its first
            # rows read in index order); and every "deals of a company" lookup.
            models.Index(fields=["company", "-updated_at"], name="deal_company_idx"),
            models.Index(fields=["primary_contact"], name="deal_contact_idx"),
            models.Index(fields=["type"], name="deal_type_idx"),
            models.Index(fields=["campaign"], name="deal_campaign_idx"),
            GinIndex(fields=["tags"], name="deal_tags_gin"),
        ]
        constraints = [
            *CustomizableRecord.Meta.constraints,
            non_negative("amount", "deal_amount_non_negative"),
            currency_check("currency", "deal_currency_iso"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        # Mirrors the composite foreign key deal(stage_id, pipeline_id) -> stage(id, pipeline_id)
        # so a form shows a field error instead of an IntegrityError.
        if not (self.stage_id and self.pipeline_id):
            return
        try:
            stage_pipeline_id = self.stage.pipeline_id
        except Stage.DoesNotExist:
            # A stage id that matches no row: clean_fields() already reports it on `stage`;
            # letting DoesNotExist escape would turn a form error into a 500.
            return
        if stage_pipeline_id != self.pipeline_id:
            raise ValidationError({"stage": "This stage belongs to another pipeline."})


class Contract(HasDetailPage, CustomizableRecord):
    CUSTOM_FIELDS_ENTITY = "contract"

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        SIGNED = "signed", "Signed"

    title = models.CharField(max_length=255)
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contracts",
        db_index=False,
    )
    deal = models.ForeignKey(
        Deal,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contracts",
        db_index=False,
    )
    type = models.CharField(max_length=100, blank=True)
    value = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default=default_currency)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NOT_STARTED)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    renewal_reminder_date = models.DateField(null=True, blank=True)
    customer_signed_date = models.DateField(null=True, blank=True)
    company_signed_date = models.DateField(null=True, blank=True)
    description = models.TextField(blank=True)

    class Meta(CustomizableRecord.Meta):
        indexes = [
            *CustomizableRecord.Meta.indexes,
            # Contract list filtered by status, soonest end first (renewals).
            models.Index(fields=["status", "end_date"], name="contract_status_end_idx"),
            # Renewal reminders due: renewal_reminder_date <= today.
            models.Index(fields=["renewal_reminder_date"], name="contract_renewal_idx"),
            # Company page: the Contracts panel, latest start first; and every lookup by company.
            models.Index(fields=["company", "-start_date"], name="contract_company_idx"),
            models.Index(fields=["deal"], name="contract_deal_idx"),
            # The contract list's ?q= (title icontains).
            icontains_index("title", "contract_title_trgm"),
        ]
        constraints = [
            *CustomizableRecord.Meta.constraints,
            non_negative("value", "contract_value_non_negative"),
            currency_check("currency", "contract_currency_iso"),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(start_date__isnull=True)
                | models.Q(end_date__gte=F("start_date")),
                name="contract_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Invoice(CustomizableRecord):
    CUSTOM_FIELDS_ENTITY = "invoice"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        NEW = "new", "New"
        SENT = "sent", "Sent"
        PAID = "paid", "Paid"
        OVERDUE = "overdue", "Overdue"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=64, blank=True)
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invoices",
        db_index=False,
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default=default_currency)
    # [{"description": ..., "quantity": ..., "unit_price": ...}, ...]
    line_items = models.JSONField(default=list, blank=True)
    # The supplier or customer as printed on the invoice (name, address, VAT, bank details).
    partner = models.JSONField(default=dict, blank=True)
    file_url = models.URLField(max_length=1000, blank=True)
    description = models.TextField(blank=True)

    class Meta(CustomizableRecord.Meta):
        indexes = [
            *CustomizableRecord.Meta.indexes,
            models.Index(fields=["status", "due_date"], name="invoice_status_due_idx"),
            models.Index(fields=["company"], name="invoice_company_idx"),
            models.Index(fields=["number"], name="invoice_number_idx"),
        ]
        constraints = [
            *CustomizableRecord.Meta.constraints,
            non_negative("amount", "invoice_amount_non_negative"),
            currency_check("currency", "invoice_currency_iso"),
            json_type_check("partner", "object", "invoice_partner_is_object"),
            json_type_check("line_items", "array", "invoice_line_items_is_array"),
        ]

    def __str__(self) -> str:
        return self.number or f"Invoice {self.pk}"
