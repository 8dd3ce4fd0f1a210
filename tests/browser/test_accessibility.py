"""Every main page passes axe-core's checks (WCAG 2 A and AA rules: labels, names, contrast,
landmarks, ARIA use) in real Chromium, with demo-like data on it. axe-core comes bundled in the
axe-playwright-python wheel and is evaluated in the page, so the CSP stays as strict as ever."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from crm import factories as f
from crm.services.pipelines import pipeline_ensure_default
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def _violations(page) -> list[str]:
    results = Axe().run(page, options={**WCAG, "resultTypes": ["violations"]})
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
    ]


def test_the_main_pages_have_no_accessibility_violations(page, sales_rep) -> None:
    pipeline = pipeline_ensure_default()
    company = f.CompanyFactory(owner=sales_rep, name="Acme", tags=["vip"])
    contact = f.ContactFactory(owner=sales_rep, company=company)
    deal = f.DealFactory(
        owner=sales_rep, company=company, pipeline=pipeline, stage=pipeline.stages.first()
    )
    lead = f.LeadFactory(owner=sales_rep)
    task = f.TaskFactory(owner=sales_rep, assignee=sales_rep, company=company)
    contract = f.ContractFactory(owner=sales_rep, company=company)
    document = f.DocumentFactory(owner=sales_rep, url="https://files.example/offer.pdf")
    document.deals.add(deal)
    f.NoteFactory(company=company, contact=None, lead=None, deal=None, author=sales_rep)
    sign_in(page, sales_rep.email, "correct-horse-battery")
    pages = [
        "/",
        "/companies/",
        "/contacts/",
        "/deals/",
        "/tasks/",
        company.get_absolute_url(),
        contact.get_absolute_url(),
        deal.get_absolute_url(),
        lead.get_absolute_url(),
        task.get_absolute_url(),
        contract.get_absolute_url(),
        document.get_absolute_url(),
        "/documents/new/",
        "/contacts/new/",
        f"/deals/{deal.pk}/edit/",
        f"/leads/{lead.pk}/convert/",
        "/deals/board/",
        "/tasks/mine/",
        "/boards/",
        "/search/?q=acme",
    ]
    found = {}
    for path in pages:
        page.goto(path)
        expect(page.locator("h1").first).to_be_visible()
        problems = _violations(page)
        if problems:
            found[path] = problems
    assert not found, found


def test_the_sign_in_page_has_no_accessibility_violations(page) -> None:
    page.goto("/accounts/login/")
    assert _violations(page) == []
