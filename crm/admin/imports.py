"""CSV imports in Django admin, read-only: who imported what and when, and each row's outcome.

Runs and rows are written by the import engine only (crm/imports/); the admin looks them up
and never edits them (an edited counter or row would make undo lie). A run's rows are a link
to the rows list filtered by that run, not an inline: an import may hold a million rows.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from crm.models import ImportRow, ImportRun
from crm.pagination import EstimatedCountPaginator

from .base import ReadOnlyAdminMixin


class _ReadOnly(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Rows of big imports add up: estimated counts, never a COUNT(*) per page.
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50


@admin.register(ImportRun)
class ImportRunAdmin(_ReadOnly):
    list_display = (
        "created_at",
        "file_name",
        "entity",
        "status",
        "created_by",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "failed",
    )
    list_filter = ("entity", "status", "mode")
    list_select_related = ("created_by",)
    search_fields = ("file_name", "created_by__email")
    # Newest first through importrun_created_idx; other sorts would sort every import.
    ordering = ("-created_at",)
    sortable_by = ()
    fields = (
        "id",
        "wizard_link",
        "rows_link",
        "entity",
        "created_by",
        "created_at",
        "file_name",
        "file_size",
        "encoding",
        "delimiter",
        "mapping_json",
        "mode",
        "match_on",
        "on_error",
        "create_related",
        "status",
        "rows_total",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "failed",
        "message",
        "started_at",
        "finished_at",
        "undone_at",
        "undone_by",
        "undo_kept",
    )
    readonly_fields = fields

    @admin.display(description="in the app")
    def wizard_link(self, obj: ImportRun) -> SafeString:
        url = reverse("crm:import.detail", args=[obj.pk])
        return format_html('<a href="{}">Open this import in the app</a>', url)

    @admin.display(description="rows")
    def rows_link(self, obj: ImportRun) -> SafeString:
        url = reverse("admin:crm_importrow_changelist")
        query = urlencode({"run__id__exact": str(obj.pk)})
        return format_html('<a href="{}?{}">What happened to each row</a>', url, query)

    @admin.display(description="mapping (column → field)")
    def mapping_json(self, obj: ImportRun) -> SafeString:
        pairs = dict(zip(obj.headers, obj.mapping, strict=False))
        text = json.dumps(pairs, indent=2, ensure_ascii=False)
        return format_html("<pre>{}</pre>", text)


@admin.register(ImportRow)
class ImportRowAdmin(_ReadOnly):
    list_display = ("number", "run", "action", "record_id", "reasons", "undo")
    list_filter = ("action",)
    list_select_related = ("run",)
    sortable_by = ()
    fields = ("run", "number", "action", "record_id", "key", "errors_json", "cells_json", "undo")
    readonly_fields = fields

    def get_ordering(self, request: HttpRequest) -> tuple[str, ...]:
        # One run's rows in file order (its (run, number) index); all runs newest row first.
        return ("number", "id") if "run__id__exact" in request.GET else ("-id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportRow]:
        return super().get_queryset(request).defer("cells")

    @admin.display(description="reasons")
    def reasons(self, obj: ImportRow) -> str:
        return "; ".join(
            f"{e['column']}: {e['reason']}" if e.get("column") else e.get("reason", "")
            for e in obj.errors
        )

    @staticmethod
    def _json(value: Any) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))

    @admin.display(description="errors")
    def errors_json(self, obj: ImportRow) -> SafeString:
        return self._json(obj.errors)

    @admin.display(description="cells")
    def cells_json(self, obj: ImportRow) -> SafeString:
        return self._json(obj.cells)
