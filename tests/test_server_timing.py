"""Every response says how long the app and its SQL took (config/timing.py): what issue #8's
benchmarks read as server time, and what an operator sees in the browser's network panel."""

from __future__ import annotations

import re

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from accounts.models import User
from config.timing import ServerTimingMiddleware

TIMING = re.compile(r'^app;dur=(\d+\.\d), db;dur=(\d+\.\d);desc="(\d+) queries"$')


@pytest.mark.django_db
def test_a_page_reports_app_and_sql_time(login, sales_rep: User) -> None:
    response = login(sales_rep).get("/contacts/")
    assert response.status_code == 200
    match = TIMING.match(response["Server-Timing"])
    assert match, response["Server-Timing"]
    app_ms, db_ms, queries = float(match[1]), float(match[2]), int(match[3])
    assert queries > 0  # a list page reads the database
    assert 0 <= db_ms <= app_ms


def test_a_view_without_sql_reports_zero_queries() -> None:
    response = ServerTimingMiddleware(lambda request: HttpResponse("ok"))(
        RequestFactory().get("/")
    )
    match = TIMING.match(response["Server-Timing"])
    assert match and match[2] == "0.0" and match[3] == "0", response["Server-Timing"]


def test_it_can_be_turned_off() -> None:
    with override_settings(SERVER_TIMING=False):
        middleware = ServerTimingMiddleware(lambda request: HttpResponse("ok"))
    assert "Server-Timing" not in middleware(RequestFactory().get("/"))
