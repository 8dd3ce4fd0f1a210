"""`Server-Timing` on every response: the time the app spent on the request, and its SQL.

    Server-Timing: app;dur=23.4, db;dur=7.9;desc="12 queries"

Why: issue #8's targets are server time, and a benchmark timing over loopback also counts its
own client's CPU (client, gunicorn and PostgreSQL share two cores). Browsers show the header in
their network panel too, which is where an operator looks first when "the CRM is slow".

It is the outermost middleware, so `app` covers every other middleware, the view and the
template, up to the moment the response leaves Django (for a streamed response, the moment its
first byte can be sent). The SQL figure comes from a connection execute wrapper: a
perf_counter pair per query, well under a microsecond. Nothing secret is in it: the total is
what any client measures anyway, give or take the network. SERVER_TIMING=false turns it off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse


class _QueryClock:
    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: Any):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - t0
            self.count += 1


class ServerTimingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.enabled = getattr(settings, "SERVER_TIMING", True)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.enabled:
            return self.get_response(request)
        clock = _QueryClock()
        t0 = time.perf_counter()
        with connection.execute_wrapper(clock):
            response = self.get_response(request)
        app_ms = (time.perf_counter() - t0) * 1000
        response["Server-Timing"] = (
            f'app;dur={app_ms:.1f}, db;dur={clock.seconds * 1000:.1f};desc="{clock.count} queries"'
        )
        return response
