"""Linking existing records to each other from a detail page (a deal's contacts, a document's
records)."""

from __future__ import annotations

urlpatterns: list = []
