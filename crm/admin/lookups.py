"""Admin for reference data: lookups, pipelines with their stages, custom field definitions.

These tables hold tens of rows, so plain `icontains` search and full <select> lists are fine.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from crm.models import (
    Campaign,
    CustomFieldDefinition,
    DealType,
    DocumentType,
    Industry,
    Pipeline,
    Stage,
)

from .base import CrmModelAdmin


class LookupAdmin(CrmModelAdmin):
    list_display = ("name", "position", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name",)
    fields = ("name", "position", "is_active", "legacy_id")


admin.site.register(Industry, LookupAdmin)
admin.site.register(DealType, LookupAdmin)
admin.site.register(DocumentType, LookupAdmin)


@admin.register(Campaign)
class CampaignAdmin(LookupAdmin):
    list_display = ("name", "status", "position", "is_active")
    fields = ("name", "status", "description", "position", "is_active", "legacy_id")


class StageInline(admin.TabularInline):
    model = Stage
    fields = ("name", "position", "probability", "is_won", "is_lost")
    extra = 0


@admin.register(Pipeline)
class PipelineAdmin(CrmModelAdmin):
    list_display = ("name", "is_default", "is_active", "position")
    list_filter = ("is_default", "is_active")
    search_fields = ("name",)
    fields = ("name", "position", "is_default", "is_active")
    inlines = [StageInline]


@admin.register(Stage)
class StageAdmin(CrmModelAdmin):
    list_display = ("name", "pipeline", "position", "probability", "is_won", "is_lost")
    list_filter = ("pipeline", "is_won", "is_lost")
    list_select_related = ("pipeline",)
    # "Sales: Proposal" tells stages of two pipelines apart in the deal form's autocomplete.
    search_fields = ("name", "pipeline__name")
    autocomplete_fields = ("pipeline",)
    fields = ("pipeline", "name", "position", "probability", "is_won", "is_lost", "legacy_id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # Stage.__str__ names the pipeline; the autocomplete view lists stages through this
        # queryset (list_select_related only reaches the changelist).
        return super().get_queryset(request).select_related("pipeline")


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(CrmModelAdmin):
    list_display = ("label", "key", "entity", "field_type", "required", "position")
    list_filter = ("entity", "field_type", "required")
    search_fields = ("label", "key")
    fieldsets = (
        (None, {"fields": ("entity", "key", "label", "field_type", "required", "position")}),
        ("Details", {"fields": ("choices", "help_text")}),
    )
