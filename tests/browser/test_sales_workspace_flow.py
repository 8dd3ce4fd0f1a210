"""A sales rep's day in real Chromium: sign in, create a company, a contact at it and a deal for
it, drag the deal across two stages of the board, add a note, find the contact from the header
search with a typo, see the changes in the History, convert a lead. And the wall between
teams: another team's deal is not there for them.

The README's screenshots are taken on demo data in test_readme_screenshots.py."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from audit.models import AuditEvent
from crm import factories as f
from crm.models import Company, Contact, Deal, Lead, Note
from crm.services.pipelines import pipeline_ensure_default
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"


def _drag_deal(page, deal_name: str, stage_name: str) -> None:
    card = page.locator(".pipeline-card", has_text=deal_name)
    column = page.locator(".pipeline-col", has=page.get_by_role("heading", name=stage_name))
    with page.expect_response(lambda r: "/move/" in r.url and r.request.method == "POST"):
        card.drag_to(column.locator(".pipeline-cards"))
    expect(column.locator(".pipeline-card", has_text=deal_name)).to_be_visible()


def test_a_sales_rep_works_a_deal_from_first_contact_to_proposal(page, sales_rep) -> None:
    pipeline_ensure_default()
    sign_in(page, sales_rep.email, PASSWORD)

    # A company, then a contact at it from the company page's Contacts panel.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Companies").click()
    page.get_by_role("link", name="New company").click()
    page.get_by_label("Name", exact=True).fill("Acme Robotics")
    page.get_by_label("Domain").fill("acme-robotics.example")
    page.get_by_role("button", name=re.compile("^(Create|Save)")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Robotics")
    company = Company.objects.get(name="Acme Robotics")
    assert company.owner == sales_rep

    page.locator("#panel-contacts").get_by_role("link", name="Add").click()
    page.get_by_label("First name").fill("John")
    page.get_by_label("Last name").fill("Smith")
    page.get_by_label("Email", exact=True).fill("john.smith@acme-robotics.example")
    page.get_by_role("button", name=re.compile("^(Create|Save)")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("John Smith")
    contact = Contact.objects.get(last_name="Smith")
    assert contact.company == company

    # A deal for the company, from its Deals panel.
    page.goto(company.get_absolute_url())
    page.locator("#panel-deals").get_by_role("link", name="Add").click()
    page.get_by_label("Name", exact=True).fill("Acme rollout")
    page.get_by_label("Amount").fill("48000")
    page.get_by_role("button", name=re.compile("^(Create|Save)")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme rollout")
    deal = Deal.objects.get(name="Acme rollout")
    assert deal.company == company and deal.stage.name == "Qualification"

    # Across two stages of the board by dragging; totals follow.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Pipeline").click()
    _drag_deal(page, "Acme rollout", "Needs analysis")
    _drag_deal(page, "Acme rollout", "Proposal")
    deal.refresh_from_db()
    assert deal.stage.name == "Proposal"
    proposal = page.locator(".pipeline-col", has=page.get_by_role("heading", name="Proposal"))
    expect(proposal.locator("[data-total]")).to_contain_text("48,000.00")
    # Columns beyond the window scroll inside the board, never the whole page.
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    moves = AuditEvent.objects.filter(record_id=str(deal.pk), action="update")
    assert moves.count() >= 2 and {e.user_id for e in moves} == {sales_rep.pk}

    # A note on the contact, added in place.
    page.goto(contact.get_absolute_url())
    page.get_by_label("Add a note").fill("Called John: wants a demo for the Berlin plant.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#timeline")).to_contain_text("wants a demo for the Berlin plant")
    assert Note.objects.get(contact=contact).author == sales_rep

    # The header search forgives two typos.
    page.goto("/")
    page.keyboard.press("/")
    page.keyboard.type("Jonh Smiht")
    result = page.locator("#search-results").get_by_role("link", name=re.compile("John Smith"))
    expect(result.first).to_be_visible()
    result.first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("John Smith")

    # The History: the contact's creation by this rep, and the deal's stage changes.
    expect(page.locator("#timeline")).to_contain_text(sales_rep.name)
    page.goto(deal.get_absolute_url())
    history = page.locator("#timeline")
    expect(history).to_contain_text("Needs analysis")
    expect(history).to_contain_text("Proposal")


def test_a_sales_rep_converts_a_lead_into_a_contact_company_and_deal(page, sales_rep) -> None:
    pipeline_ensure_default()
    lead = f.LeadFactory(
        owner=sales_rep,
        first_name="Grace",
        last_name="Hopper",
        company_name="Hopper Compilers",
        email="grace@hopper.example",
    )
    sign_in(page, sales_rep.email, PASSWORD)
    page.goto(lead.get_absolute_url())
    page.get_by_role("link", name="Convert").click()
    page.get_by_label("Create a deal").check()
    page.get_by_role("button", name="Convert").click()
    # With a deal created, conversion lands on the new deal.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hopper Compilers")
    expect(page.locator("#messages")).to_contain_text("onverted")

    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    assert lead.converted_contact.company.name == "Hopper Compilers"
    assert lead.converted_deal is not None
    assert lead.converted_deal.primary_contact == lead.converted_contact


def test_a_sales_rep_cannot_open_another_teams_deal(page, sales_rep, outsider) -> None:
    pipeline_ensure_default()
    theirs = f.DealFactory(owner=outsider, name="Outsider megadeal")
    sign_in(page, sales_rep.email, PASSWORD)
    response = page.goto(theirs.get_absolute_url())
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    assert "Outsider megadeal" not in page.content()
    # Nor is it on the board or in search.
    page.goto("/deals/board/")
    expect(page.locator(".pipeline-card", has_text="Outsider megadeal")).to_have_count(0)
    page.goto("/search/?q=megadeal")
    assert "Outsider megadeal" not in page.content()
    page.console_errors.clear()  # the 404 itself is logged by the browser as a failed load


def test_the_workspace_fits_a_phone_screen(browser, live_server, sales_rep) -> None:
    pipeline_ensure_default()
    f.CompanyFactory(owner=sales_rep, name="Pocket Co")
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page = context.new_page()
    try:
        sign_in(page, sales_rep.email, PASSWORD)
        for path in ("/", "/companies/", "/contacts/new/", "/deals/board/", "/tasks/mine/"):
            page.goto(path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"
        page.goto("/companies/")
        expect(page.get_by_role("link", name="Pocket Co")).to_be_visible()
    finally:
        context.close()
