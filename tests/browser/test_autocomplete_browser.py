"""The related-record type-ahead in real Chromium: typing fetches options, arrow keys and Enter
or a click pick one, clearing the text clears an optional link, and the page raises no console
or CSP errors (the `page` fixture checks)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from crm import factories as f
from crm.forms.widgets import RecordAutocompleteWidget
from crm.models import Contact
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def many(monkeypatch: Any) -> None:
    monkeypatch.setattr(RecordAutocompleteWidget, "select_limit", 1)


def test_keyboard_picks_a_company_and_the_contact_is_saved_with_it(page, sales_rep) -> None:
    f.CompanyFactory(owner=sales_rep, name="Acme")
    globex = f.CompanyFactory(owner=sales_rep, name="Globex Corporation")
    f.CompanyFactory(owner=sales_rep, name="Globe Trotters")
    sign_in(page, sales_rep.email, "correct-horse-battery")
    page.goto("/contacts/new/")
    page.get_by_label("Last name").fill("Lovelace")
    field = page.get_by_role("combobox", name="Company")
    field.press_sequentially("globx", delay=30)  # a typo
    listbox = page.get_by_role("listbox")
    # Focusing the field already fetched options for "" (Acme among them): wait for those of
    # the typed text, or a late swap could renumber the options under the arrow keys.
    expect(listbox.get_by_role("option", name="Acme")).to_have_count(0)
    expect(listbox.get_by_role("option")).to_have_count(2)
    page.wait_for_load_state("networkidle")
    assert field.get_attribute("aria-expanded") == "true"
    # Both Globe… names match the typo, by name: the second option is Globex.
    for key in ("ArrowDown", "ArrowDown", "ArrowDown", "ArrowUp"):
        field.press(key)
    active = field.get_attribute("aria-activedescendant")
    assert active and page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    field.press("Enter")  # picks; does not submit the form
    assert field.input_value() == "Globex Corporation"
    assert field.get_attribute("aria-expanded") == "false"
    assert page.locator('input[type=hidden][name="company"]').input_value() == str(globex.pk)
    page.get_by_role("button", name="Create contact").click()
    page.wait_for_url(lambda url: "/new/" not in url)
    assert Contact.objects.get().company == globex


def test_clicking_picks_and_clearing_the_text_removes_the_link(page, sales_rep) -> None:
    acme = f.CompanyFactory(owner=sales_rep, name="Acme")
    f.CompanyFactory(owner=sales_rep, name="Initech")
    contact = f.ContactFactory(owner=sales_rep, company=acme, last_name="Lovelace")
    sign_in(page, sales_rep.email, "correct-horse-battery")
    page.goto(f"/contacts/{contact.pk}/edit/")
    field = page.get_by_role("combobox", name="Company")
    assert field.input_value() == "Acme"
    field.fill("")
    field.press_sequentially("init", delay=30)
    page.wait_for_load_state("networkidle")  # the options of the typed text, not of focus
    page.get_by_role("option", name="Initech").click()
    assert field.input_value() == "Initech"
    field.fill("")  # an optional link: empty text, no company
    assert page.locator('input[type=hidden][name="company"]').input_value() == ""
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(lambda url: "/edit/" not in url)
    contact.refresh_from_db()
    assert contact.company is None


def test_a_full_list_says_more_match_and_clicking_that_keeps_the_text(page, sales_rep) -> None:
    for i in range(12):
        f.CompanyFactory(owner=sales_rep, name=f"Acme {i:02d}")
    sign_in(page, sales_rep.email, "correct-horse-battery")
    page.goto("/contacts/new/")
    field = page.get_by_role("combobox", name="Company")
    field.press_sequentially("acme", delay=30)
    listbox = page.get_by_role("listbox")
    hint = listbox.get_by_text("More companies match: keep typing to narrow them.")
    expect(hint).to_be_visible()
    expect(listbox.get_by_role("option")).to_have_count(10)
    page.wait_for_load_state("networkidle")
    status = page.locator("[data-autocomplete-status]")
    expect(status).to_contain_text("10 results. More companies match")
    hint.click()  # not an option: nothing is picked, the typed text and the focus stay
    assert field.input_value() == "acme"
    assert page.locator('input[type=hidden][name="company"]').input_value() == ""
    expect(field).to_be_focused()
