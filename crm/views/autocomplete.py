"""Autocomplete endpoints for choosing a related record in forms."""

from __future__ import annotations

urlpatterns: list = []
