"""The import's log, checkpoints and leftovers in Django admin, read-only: the record of what
the MongoDB import did, for admins to look up a document by its ObjectId."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString

from crm.admin.base import ReadOnlyAdminMixin
from crm.pagination import EstimatedCountPaginator

from .models import CollectionState, ImportIssue, Leftover


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # A million-document import logs a lot: estimated counts, never a COUNT(*) per page.
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50

    @staticmethod
    def pretty(value: Any) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


@admin.register(CollectionState)
class CollectionStateAdmin(ReadOnlyAdmin):
    list_display = ("collection", "position", "imported", "skipped", "failed", "done", "source")


@admin.register(ImportIssue)
class ImportIssueAdmin(ReadOnlyAdmin):
    list_display = ("collection", "object_id", "kind", "field", "reason")
    list_filter = ("kind", "collection")
    # Exact ObjectId lookups on the indexed column (the default would be an UPPER() LIKE scan).
    search_fields = ("=object_id",)
    search_help_text = "A NextCRM ObjectId."
    fields = ("collection", "object_id", "kind", "field", "reason", "value_json", "created_at")
    readonly_fields = fields
    ordering = ("-id",)
    sortable_by = ()

    @admin.display(description="value")
    def value_json(self, obj: ImportIssue) -> SafeString:
        return self.pretty(obj.value)


@admin.register(Leftover)
class LeftoverAdmin(ReadOnlyAdmin):
    list_display = ("collection", "object_id")
    list_filter = ("collection",)
    search_fields = ("=object_id",)
    search_help_text = "A NextCRM ObjectId."
    fields = ("collection", "object_id", "data_json")
    readonly_fields = fields
    sortable_by = ()

    @admin.display(description="fields kept")
    def data_json(self, obj: Leftover) -> SafeString:
        return self.pretty(obj.data)
