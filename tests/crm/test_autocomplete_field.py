"""RecordChoiceField and its widget in the record forms: a select while the records offered are
few, a type-ahead when they are many (the limit is lowered here instead of creating 200 rows),
the current value's label for one query, and the posted id checked against what the user may
see or change."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import factories as f
from crm.forms.records_parties import ContactForm
from crm.forms.records_work import TaskForm
from crm.forms.widgets import RecordAutocompleteWidget
from crm.models import Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def many(monkeypatch: Any) -> None:
    """Two records are "many": every related field renders as a type-ahead."""
    monkeypatch.setattr(RecordAutocompleteWidget, "select_limit", 2)


def companies(owner: Any, *names: str) -> list[Any]:
    return [f.CompanyFactory(owner=owner, name=name) for name in names]


def test_a_few_records_render_as_a_plain_select(login: Any, sales_rep: Any) -> None:
    acme, _ = companies(sales_rep, "Acme", "Globex")
    html = login(sales_rep).get(reverse("crm:contact.create")).content.decode()
    assert '<select name="company"' in html
    assert f'<option value="{acme.pk}">Acme</option>' in html
    assert 'role="combobox"' not in html


def test_many_records_render_a_type_ahead_without_listing_them(
    login: Any, sales_rep: Any, many: None
) -> None:
    companies(sales_rep, "Acme", "Globex", "Initech")
    html = login(sales_rep).get(reverse("crm:contact.create")).content.decode()
    assert '<select name="company"' not in html
    assert "Acme" not in html and "Initech" not in html
    assert 'type="hidden" name="company" value=""' in html
    # The label points at the search input, which drives a listbox.
    assert '<label for="id_company">' in html
    assert 'type="search" role="combobox"' in html and 'id="id_company"' in html
    assert 'aria-controls="id_company_listbox"' in html and 'aria-expanded="false"' in html
    assert 'id="id_company_listbox" role="listbox"' in html
    assert f'hx-get="{reverse("crm:autocomplete", args=["company"])}"' in html
    assert 'hx-trigger="input changed delay:200ms, focus"' in html
    # The CSP allows our static files only: no inline script, style or hx-on.
    assert "<script>" not in html and "style=" not in html and "hx-on" not in html


def test_the_edit_page_shows_the_current_records_label(
    login: Any, sales_rep: Any, many: None
) -> None:
    acme, *_ = companies(sales_rep, "Acme", "Globex", "Initech")
    contact = f.ContactFactory(owner=sales_rep, company=acme)
    html = login(sales_rep).get(reverse("crm:contact.edit", args=[contact.pk])).content.decode()
    assert 'value="Acme" data-label="Acme"' in html
    assert f'type="hidden" name="company" value="{acme.pk}"' in html
    assert "Globex" not in html


def test_a_link_the_user_can_no_longer_see_keeps_its_label(
    login: Any, sales_rep: Any, outsider: Any, many: None
) -> None:
    companies(sales_rep, "Acme", "Globex", "Initech")
    hidden = f.CompanyFactory(owner=outsider, name="Hidden Ltd")
    contact = f.ContactFactory(owner=sales_rep, company=hidden)
    client = login(sales_rep)
    html = client.get(reverse("crm:contact.edit", args=[contact.pk])).content.decode()
    assert 'value="Hidden Ltd"' in html
    data = {"last_name": "Lovelace", "type": "customer", "is_active": "on", "company": hidden.pk}
    assert client.post(reverse("crm:contact.edit", args=[contact.pk]), data).status_code == 302


def test_task_parents_offer_only_records_the_user_may_change(
    login: Any, sales_rep: Any, many: None
) -> None:
    companies(sales_rep, "Acme", "Globex", "Initech")
    html = login(sales_rep).get(reverse("crm:task.create")).content.decode()
    assert f'hx-get="{reverse("crm:autocomplete", args=["company"])}?for=edit"' in html


def test_the_field_accepts_a_visible_id(sales_rep: Any, many: None) -> None:
    acme, *_ = companies(sales_rep, "Acme", "Globex", "Initech")
    data = {"last_name": "Lovelace", "type": "customer", "is_active": "on", "company": acme.pk}
    form = ContactForm(data, user=sales_rep)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["company"] == acme


@pytest.mark.parametrize("posted", ["hidden", "00000000-0000-0000-0000-000000000000", "nope"])
def test_an_invisible_unknown_or_malformed_id_is_a_field_error(
    login: Any, sales_rep: Any, outsider: Any, many: None, posted: str
) -> None:
    companies(sales_rep, "Acme", "Globex", "Initech")
    hidden = f.CompanyFactory(owner=outsider, name="Hidden Ltd")
    value = str(hidden.pk) if posted == "hidden" else posted
    data = {"last_name": "Lovelace", "type": "customer", "is_active": "on", "company": value}
    response = login(sales_rep).post(reverse("crm:contact.create"), data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.context["form"].errors["company"][0]
    html = response.content.decode()
    # Shown empty, with the error, never with the refused record's name or id.
    assert "Hidden Ltd" not in html and 'type="hidden" name="company" value=""' in html
    assert not Contact.objects.exists()


def test_a_task_parent_the_user_may_only_see_is_refused(
    sales_rep: Any, teammate: Any, many: None
) -> None:
    shared = f.CompanyFactory(owner=teammate, shared_with_team=True)
    form = TaskForm(
        {"title": "Call", "status": "open", "priority": "medium", "company": shared.pk},
        user=sales_rep,
    )
    assert not form.is_valid()
    assert "company" in form.errors


def test_the_type_ahead_costs_one_query_for_the_current_label_and_none_without(
    sales_rep: Any, many: None, django_assert_num_queries
) -> None:
    acme, *_ = companies(sales_rep, "Acme", "Globex", "Initech")
    contact = f.ContactFactory(owner=sales_rep, company=acme)
    with_value = ContactForm(instance=contact, user=sales_rep)
    with django_assert_num_queries(2):  # how many there are (LIMIT 3), the chosen one
        assert "Acme" in str(with_value["company"])
    without = ContactForm(user=sales_rep)
    with django_assert_num_queries(1):  # how many there are, nothing else
        str(without["company"])


def test_the_select_costs_two_small_queries_for_its_options_and_the_chosen_one(
    sales_rep: Any, django_assert_num_queries
) -> None:
    acme, _ = companies(sales_rep, "Acme", "Globex")
    form = ContactForm(
        {"last_name": "Lovelace", "type": "customer", "is_active": "on", "company": acme.pk},
        user=sales_rep,
    )
    assert form.is_valid()
    with CaptureQueriesContext(connection) as ctx:  # whether there are more, the options
        assert "selected>Acme</option>" in str(form["company"])
    probe, options = (q["sql"] for q in ctx.captured_queries)
    assert "ORDER BY" not in probe and "OFFSET" in probe  # no sort to learn there are few
    assert "ORDER BY" in options


@pytest.mark.parametrize("key", ["contact", "deal", "contract", "task"])
def test_pages_with_type_aheads_stay_within_the_record_pages_budgets(
    key: str, login: Any, sales_rep: Any, many: None, django_assert_max_num_queries
) -> None:
    acme, *_ = companies(sales_rep, "Acme", "Globex", "Initech")
    deal = f.DealFactory(owner=sales_rep, company=acme)
    f.ContactFactory.create_batch(3, owner=sales_rep, company=acme)
    record = {
        "contact": lambda: f.ContactFactory(owner=sales_rep, company=acme),
        "deal": lambda: deal,
        "contract": lambda: f.ContractFactory(owner=sales_rep, company=acme, deal=deal),
        "task": lambda: f.TaskFactory(owner=sales_rep, assignee=sales_rep, deal=deal),
    }[key]()
    client = login(sales_rep)
    # The budgets of tests/crm/test_records.py: a probe per related field, a label per value.
    with django_assert_max_num_queries(14):
        create = client.get(reverse(f"crm:{key}.create"))
    with django_assert_max_num_queries(16):
        edit = client.get(reverse(f"crm:{key}.edit", args=[record.pk]))
    assert 'role="combobox"' in create.content.decode()
    assert 'role="combobox"' in edit.content.decode()
