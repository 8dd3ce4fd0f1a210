"""The audit log in Django admin, and the History page every CRM admin gets from it.

- `AuditEventAdmin`: the whole log, read-only (no add, change or delete, for anyone), filtered
  by table, action, user and time; the search box takes a record id (exact, index-backed).
  Counts go through EstimatedCountPaginator and never COUNT(*) the whole table.
- `AuditHistoryAdminMixin`: put first in a ModelAdmin's bases to replace Django's per-object
  History page (which lists only changes made through the admin, from django_admin_log) with
  the trigger-based history: every change from every writer, with its diff.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from audit.models import AuditEvent
from audit.selectors import (
    DEFAULT_LIMIT,
    audited_table_choices,
    describe_source,
    record_history,
    record_history_queryset,
)
from crm.pagination import EstimatedCountPaginator


class ReadOnlyAdminMixin:
    """A ModelAdmin whose rows nobody adds, changes or deletes through the admin, superusers
    included: records written by the system (the audit log, the import's log). Put it first in
    the bases. Defined here rather than in crm/admin/base.py, which re-exports it: that module
    imports this one, so importing it from here would be circular."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TableFilter(admin.SimpleListFilter):
    """Audited tables from the configuration: a DISTINCT over the log would read all of it."""

    title = "table"
    parameter_name = "table"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [*audited_table_choices(), ("audit_event", "Audit log (audit_event)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(table_name=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("occurred_at", "action", "table_name", "record_id", "user", "source")
    list_filter = ("action", TableFilter, "user", ("occurred_at", admin.DateFieldListFilter))
    list_select_related = ("user",)
    search_fields = ("record_id",)
    search_help_text = "A record's id: its own entries and its link rows."
    ordering = ("-id",)
    # Newest first by id, the primary key; any other sort would sort the whole log.
    sortable_by = ()
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = (
        "occurred_at",
        "action",
        "table_name",
        "record_id",
        "related_id",
        "user",
        "db_role",
        "txid",
        "source",
        "context_json",
        "changed_fields",
        "old_values_json",
        "snapshot_json",
    )
    readonly_fields = fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        # Exact match on the two indexed id columns; Django's default would be UPPER() LIKE.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(record_id=term) | Q(related_id=term)), False

    @admin.display(description="source")
    def source(self, obj: AuditEvent) -> str:
        return describe_source(obj)

    @staticmethod
    def _json(value: Any) -> SafeString:
        text = json.dumps(value, indent=2, sort_keys=True, default=str)
        return format_html("<pre>{}</pre>", text)

    @admin.display(description="context")
    def context_json(self, obj: AuditEvent) -> SafeString:
        return self._json(obj.context)

    @admin.display(description="old values")
    def old_values_json(self, obj: AuditEvent) -> SafeString:
        return self._json(obj.old_values)

    @admin.display(description="snapshot")
    def snapshot_json(self, obj: AuditEvent) -> SafeString:
        return self._json(obj.snapshot)


def _cursor(request: HttpRequest) -> tuple[dt.datetime, int] | None:
    """The keyset position from ?before=<entry id>: that entry's (occurred_at, id)."""
    raw = request.GET.get("before", "")
    if not raw.isdigit():
        return None
    occurred_at = AuditEvent.objects.filter(pk=int(raw)).values_list("occurred_at", flat=True)
    found = occurred_at.first()
    return (found, int(raw)) if found else None


def _audit_log_url(site_name: str, record_id: Any) -> str | None:
    """The audit log filtered on one record, when the site shows the audit log."""
    try:
        url = reverse(f"{site_name}:audit_auditevent_changelist")
    except NoReverseMatch:
        return None
    return f"{url}?{urlencode({'q': str(record_id)})}"


class AuditHistoryAdminMixin:
    """Replaces ModelAdmin.history_view with the audit log's history of the object.

    The object's page links to it as before ("History"). A deleted object's history stays
    readable at the same URL for users who may view the model: its last state is the first
    entry. Paginated by keyset (?before=<entry id>), 50 entries a page.
    """

    object_history_template = "admin/audit/object_history.html"
    history_page_size = DEFAULT_LIMIT

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        model = self.model
        opts = model._meta
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            # Deleted: the history survives the row. Only a valid key with entries is shown.
            try:
                key = opts.pk.to_python(unquote(object_id))
            except (ValidationError, ValueError) as exc:  # a malformed id is simply not found
                raise Http404 from exc
            if not record_history_queryset(model=model, record_id=key).exists():
                raise Http404(f"No {opts.verbose_name} with id {object_id} and no history.")
        else:
            key = obj.pk
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        page_size = self.history_page_size
        # One entry more than shown says whether an "older entries" link is needed.
        entries = record_history(
            model=model, record_id=key, limit=page_size + 1, before=_cursor(request)
        )
        has_more = len(entries) > page_size
        entries = entries[:page_size]
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {obj}" if obj else f"History of a deleted {opts.verbose_name}",
            "subtitle": None,
            "entries": entries,
            "older_id": entries[-1].id if has_more else None,
            "module_name": str(opts.verbose_name_plural).capitalize(),
            "object": obj,
            "object_id": key,
            "opts": opts,
            "audit_log_url": _audit_log_url(self.admin_site.name, key),
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.object_history_template, context)
