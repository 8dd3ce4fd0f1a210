"""The 500 page: the app's layout, no detail of the error, and it renders without a request
context (Django's handler500 passes none)."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import include, path


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internals: db password in here")


urlpatterns = [path("boom/", _boom), path("", include("config.urls"))]


def test_the_500_template_renders_without_any_context() -> None:
    html = render_to_string("500.html")
    assert "Something went wrong" in html
    assert "/static/css/app.css" in html


@pytest.mark.django_db
def test_a_crash_answers_the_apps_500_page_without_its_details(client, settings) -> None:
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert "secret internals" not in html
