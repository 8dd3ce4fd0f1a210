"""Admin for saved list views: support can see and remove a user's named filter sets."""

from __future__ import annotations

from django.contrib import admin

from crm.models import SavedView

from .base import CrmModelAdmin


@admin.register(SavedView)
class SavedViewAdmin(CrmModelAdmin):
    list_display = ("name", "entity", "owner", "created_at")
    list_filter = ("entity",)
    list_select_related = ("owner",)
    search_fields = ("name",)
    autocomplete_fields = ("owner",)
    fields = ("owner", "entity", "name", "query", "created_at")
    readonly_fields = ("created_at",)
