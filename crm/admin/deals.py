"""Admin for deals, contracts and invoices."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from crm.models import Contract, Deal, Invoice, Stage

from .base import BOOKKEEPING_FIELDSET, CrmModelAdmin, CustomizableRecordAdmin


class StageListFilter(admin.SimpleListFilter):
    """Deals by stage, stages labelled with their pipeline.

    The default related filter would call Stage.__str__ once per stage without the pipeline
    loaded: one query per stage on every deal list view.
    """

    title = "stage"
    parameter_name = "stage"

    def lookups(self, request: HttpRequest, model_admin: CrmModelAdmin) -> list[tuple[str, str]]:
        stages = Stage.objects.select_related("pipeline").order_by(
            "pipeline__position", "position"
        )
        return [(str(stage.pk), str(stage)) for stage in stages]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(stage_id=self.value()) if self.value() else queryset


@admin.register(Deal)
class DealAdmin(CustomizableRecordAdmin):
    list_display = (
        "name",
        "company",
        "stage",
        "status",
        "amount",
        "currency",
        "expected_close_date",
        "owner",
        "updated_at",
    )
    list_filter = (
        "status",
        "pipeline",
        StageListFilter,
        "type",
        "campaign",
        "owner",
        "expected_close_date",
        "updated_at",
    )
    list_select_related = ("company", "stage__pipeline", "owner")
    trigram_search = True
    search_fields = ("search_text",)
    search_help_text = "Deal name; case and accents are ignored."
    autocomplete_fields = (
        "company",
        "primary_contact",
        "contacts",
        "pipeline",
        "stage",
        "type",
        "campaign",
        "owner",
        "watchers",
    )
    fieldsets = (
        (None, {"fields": ("name", "pipeline", "stage", "status", "owner")}),
        ("Value", {"fields": ("amount", "currency", "expected_close_date", "closed_at")}),
        ("People", {"fields": ("company", "primary_contact", "contacts", "watchers")}),
        ("Details", {"fields": ("type", "campaign", "next_step", "description", "tags")}),
        BOOKKEEPING_FIELDSET,
    )


# Contracts and invoices number in the thousands per installation, not millions, and have no
# search column: a plain `icontains` scan of a table that size takes milliseconds.


@admin.register(Contract)
class ContractAdmin(CustomizableRecordAdmin):
    list_display = (
        "title",
        "company",
        "status",
        "value",
        "currency",
        "start_date",
        "end_date",
        "owner",
    )
    list_filter = ("status", "end_date", "renewal_reminder_date", "owner", "updated_at")
    list_select_related = ("company", "owner")
    search_fields = ("title",)
    autocomplete_fields = ("company", "deal", "owner")
    fieldsets = (
        (None, {"fields": ("title", "type", "status", "company", "deal", "owner")}),
        ("Value", {"fields": ("value", "currency")}),
        (
            "Dates",
            {
                "fields": (
                    "start_date",
                    "end_date",
                    "renewal_reminder_date",
                    "customer_signed_date",
                    "company_signed_date",
                )
            },
        ),
        ("More", {"fields": ("description",)}),
        BOOKKEEPING_FIELDSET,
    )


@admin.register(Invoice)
class InvoiceAdmin(CustomizableRecordAdmin):
    list_display = (
        "__str__",
        "company",
        "status",
        "issue_date",
        "due_date",
        "amount",
        "currency",
        "owner",
    )
    list_filter = ("status", "due_date", "issue_date", "owner")
    list_select_related = ("company", "owner")
    search_fields = ("number",)
    autocomplete_fields = ("company", "owner")
    fieldsets = (
        (None, {"fields": ("number", "status", "company", "owner")}),
        ("Amount", {"fields": ("amount", "currency", "issue_date", "due_date")}),
        ("Content", {"fields": ("line_items", "partner", "file_url", "description")}),
        BOOKKEEPING_FIELDSET,
    )
