"""The pipeline board: deals as cards in stage columns, drag to move."""

from __future__ import annotations

from django.urls import path

from crm.views.placeholder import placeholder

urlpatterns = [
    path("deals/board/", placeholder("Pipeline"), name="deal.board"),
    path("deals/<uuid:pk>/move/", placeholder("Move deal"), name="deal.move"),
]
