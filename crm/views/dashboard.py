"""The dashboard, minicrm's home page."""

from __future__ import annotations

from django.urls import path

from crm.views.placeholder import placeholder

urlpatterns = [
    path("", placeholder("Dashboard"), name="home"),
]
