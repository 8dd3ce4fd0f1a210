"""The dashboard, minicrm's home page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from crm.selectors.dashboard import (
    deals_closing_this_month,
    my_deals_by_stage,
    my_open_tasks,
    recent_activity,
)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    pipeline, stage_rows, my_totals = my_deals_by_stage(user=user)
    context = {
        "tasks": my_open_tasks(user=user),
        "pipeline": pipeline,
        "stage_rows": stage_rows,
        "my_totals": my_totals,
        "closing": deals_closing_this_month(user=user),
        "activity": recent_activity(user=user),
    }
    return render(request, "crm/dashboard.html", context)


urlpatterns = [
    path("", home, name="home"),
]
