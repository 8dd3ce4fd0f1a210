"""Global search."""

from __future__ import annotations

from django.urls import path

from crm.views.placeholder import placeholder

urlpatterns = [
    path("search/", placeholder("Search"), name="search"),
]
