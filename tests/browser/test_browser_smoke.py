"""The browser harness itself: sign-in through the real form, assets served, CSP respected."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_slash_key_focuses_the_header_search_after_signing_in(page, sales_rep) -> None:
    sign_in(page, sales_rep.email, "correct-horse-battery")
    page.locator("h1").first.wait_for()
    page.keyboard.press("/")
    focused = page.evaluate("document.activeElement && document.activeElement.id")
    assert focused == "global-search-input"
    # htmx came from our own static files, not a CDN.
    assert page.evaluate("typeof window.htmx") == "object"
