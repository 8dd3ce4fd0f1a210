"""The README's screenshots, taken from the demo data a new user sees after `make run`: the
pipeline board and a contact page, as a demo sales rep. Re-taken on every run, so they show
the pages as they are; the test also checks that both pages render their main parts."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from crm.models import Deal, Note
from tests.browser.conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DEMO_REP = "sam.north@minicrm.local"


def test_readme_screenshots_of_the_board_and_a_contact_page(page) -> None:
    call_command("seed_demo", "--seed", "7", stdout=open("/dev/null", "w"))  # noqa: SIM115
    sign_in(page, DEMO_REP, "minicrm-demo")

    page.goto("/deals/board/")
    expect(page.locator(".pipeline-card").first).to_be_visible()
    screenshot(page, "pipeline-board")

    # A contact of one of the rep's deals: its page has a company, a deal and history.
    deal = (
        Deal.objects.filter(owner__email=DEMO_REP, primary_contact__owner__email=DEMO_REP)
        .select_related("primary_contact")
        .first()
    )
    assert deal is not None
    contact = deal.primary_contact
    Note.objects.create(contact=contact, body="Met at the trade fair: wants a quote by Friday.")
    page.goto(contact.get_absolute_url())
    expect(page.locator("#timeline")).to_contain_text("trade fair")
    page.set_viewport_size({"width": 1360, "height": 1250})  # details and the timeline's top
    screenshot(page, "contact-page")
