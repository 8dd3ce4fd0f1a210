"""What every CRM ModelAdmin shares: CrmModelAdmin is the one base class to extend.

An admin list must stay fast on a million rows, so the base class:
- counts with EstimatedCountPaginator and never runs the second, unfiltered COUNT(*) that
  `show_full_result_count` would add;
- turns facets off (each facet is a COUNT(*) per filter choice over the whole table);
- searches models with a `search_text` column through their trigram GIN index
  (`<model>_search_trgm`) instead of Django's `UPPER(col) LIKE UPPER('%term%')` per column,
  which no index serves. The same search backs the autocomplete widgets.
Subclasses still set list_select_related for every relation in list_display, use
autocomplete_fields for relations (a plain <select> would load the whole related table), and
list_filter only on choices, booleans, dates and small lookup tables.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import Model, QuerySet, URLField
from django.http import HttpRequest
from django.utils.text import smart_split, unescape_string_literal

from audit.admin import AuditHistoryAdminMixin
from audit.admin import ReadOnlyAdminMixin as ReadOnlyAdminMixin  # shared here; see its docstring
from crm.custom_fields import definitions_for
from crm.forms import CustomFieldsFormMixin, custom_field_name
from crm.pagination import EstimatedCountPaginator
from crm.search import search_text_contains

# Bookkeeping columns: set by the database, triggers or the import, never typed in.
BOOKKEEPING_FIELDS = ("created_at", "updated_at", "legacy_id")

BOOKKEEPING_FIELDSET = (
    "Record",
    {"classes": ("collapse",), "fields": BOOKKEEPING_FIELDS},
)


def search_words(search_term: str) -> list[str]:
    """The words of an admin search, quoted phrases kept together (as Django admin does)."""
    words = []
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if bit.strip():
            words.append(bit)
    return words


class CrmModelAdmin(AuditHistoryAdminMixin, admin.ModelAdmin):
    """Base of every CRM ModelAdmin: estimated counts, index-backed search, read-only bookkeeping.

    Shared admin behaviour (the audit history, for one) belongs here, not in subclasses.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # Django 6 makes https the default for scheme-less URLs; take it now, without the warning.
    formfield_overrides = {URLField: {"assume_scheme": "https"}}
    # True for models with a trigram-indexed `search_text` column: search goes through it.
    trigram_search = False

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        columns = {field.name for field in self.model._meta.concrete_fields}
        return readonly + [f for f in BOOKKEEPING_FIELDS if f in columns and f not in readonly]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        if not self.trigram_search or not search_term.strip():
            return super().get_search_results(request, queryset, search_term)
        # search_text LIKE '%word%' for each word, all words required. pg_trgm's GIN operator
        # class serves LIKE with leading wildcards; the pattern is a constant at plan time
        # (f_unaccent is IMMUTABLE), so the planner can use the index. Words under three
        # characters have no trigram and fall back to scanning the index.
        for word in search_words(search_term):
            queryset = queryset.filter(search_text_contains(word))
        return queryset, False


class CustomizableRecordAdminForm(CustomFieldsFormMixin, forms.ModelForm):
    """Admin form of CustomizableRecord models: one field per custom field definition."""


class CustomizableRecordAdmin(CrmModelAdmin):
    """Admin of a CustomizableRecord: custom fields as real form fields, the JSON read-only.

    Subclasses declare `fieldsets` for the model's columns; a "Custom fields" fieldset with the
    entity's current definitions is appended per request.
    """

    form = CustomizableRecordAdminForm

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "custom_fields"]

    def _custom_field_names(self) -> list[str]:
        return [custom_field_name(key) for key in definitions_for(self.model.CUSTOM_FIELDS_ENTITY)]

    def get_fieldsets(
        self, request: HttpRequest, obj: Model | None = None
    ) -> list[tuple[str | None, dict[str, Any]]]:
        fieldsets = list(super().get_fieldsets(request, obj))
        listed = set(flatten_fieldsets(fieldsets))
        if "shared_with_team" not in listed:
            # The visibility flag (docs/permissions.md) lives on every CustomizableRecord.
            fieldsets.append(("Sharing", {"fields": ["shared_with_team"]}))
        custom = {"fields": [*self._custom_field_names(), "custom_fields"]}
        return [*fieldsets, ("Custom fields", custom)]

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        # The cf_* fields are added by the form itself; listed to modelform_factory they would
        # be "unknown fields" of the model. The change view passes `fields` from get_fieldsets.
        if "fields" not in kwargs:
            kwargs["fields"] = flatten_fieldsets(self.get_fieldsets(request, obj))
        if kwargs["fields"] is not None:
            custom = set(self._custom_field_names())
            kwargs["fields"] = [name for name in kwargs["fields"] if name not in custom]
        return super().get_form(request, obj, change, **kwargs)
