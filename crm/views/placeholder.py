"""A page whose view is still being built: says so, in the app's layout (signed-in only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def placeholder(title: str) -> Callable[..., HttpResponse]:
    @login_required
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, "crm/placeholder.html", {"title": title}, status=501)

    return view
