"""Inline edit of one field on a detail page: the `{% inline_field %}` display fragment and the
`crm:<entity>.field` endpoint (form fragment, save, field error, cancel, permissions)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from crm import factories as f
from crm.models import CustomFieldDefinition

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def field_url(record: Any, name: str) -> str:
    return reverse(f"crm:{record._meta.model_name}.field", args=[record.pk, name])


def render_tag(record: Any, field: str, user: Any, **context: Any) -> str:
    template = Template("{% load crm_inline %}{% inline_field record field %}")
    request = RequestFactory().get("/")
    request.user = user
    return template.render(
        Context({"record": record, "field": field, "user": user, "request": request, **context})
    )


@pytest.fixture
def tier(db: None) -> CustomFieldDefinition:
    return f.CustomFieldDefinitionFactory(
        entity="company",
        key="tier",
        label="Tier",
        field_type=CustomFieldDefinition.FieldType.CHOICE,
        choices=["gold", "silver"],
    )


@pytest.fixture
def seats(db: None) -> CustomFieldDefinition:
    return f.CustomFieldDefinitionFactory(
        entity="company",
        key="seats",
        label="Seats",
        field_type=CustomFieldDefinition.FieldType.NUMBER,
    )


# --- the display fragment --------------------------------------------------------------------


def test_display_shows_choice_labels_links_dates_and_a_dash_for_empty(sales_rep: Any) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Acme", type="partner", description="")
    contact = f.ContactFactory(owner=sales_rep, company=company, birthday=dt.date(1990, 12, 10))
    assert "Partner" in render_tag(company, "type", sales_rep)
    assert "—" in render_tag(company, "description", sales_rep)
    linked = render_tag(contact, "company", sales_rep)
    assert f'href="{company.get_absolute_url()}"' in linked and "Acme" in linked
    assert "Dec. 10, 1990" in render_tag(contact, "birthday", sales_rep)


def test_display_escapes_what_it_shows_and_writes_the_whole_fragment(sales_rep: Any) -> None:
    company = f.CompanyFactory(owner=sales_rep, name='<b>"Acme" & Co</b>', employee_count=1200)
    html = render_tag(company, "name", sales_rep, can_edit=True)
    assert "&lt;b&gt;&quot;Acme&quot; &amp; Co&lt;/b&gt;" in html and "<b>" not in html
    dom_id = f"field-company-{company.pk}-name"
    assert html.startswith(f'<span class="inline-field" id="{dom_id}">')
    assert '<span class="inline-value">&lt;b&gt;' in html and html.endswith("</span>")
    button = (
        f'<button type="button" class="inline-edit small secondary" hx-get="'
        f'{field_url(company, "name")}" hx-target="closest .inline-field" hx-swap="outerHTML"'
        ' aria-label="Edit name">Edit</button>'
    )
    assert button in html
    count = render_tag(company, "employee_count", sales_rep, can_edit=False)
    assert '<span class="inline-value">1200</span>' in count and "<button" not in count


def test_display_has_an_edit_button_only_for_users_who_may_edit(
    sales_rep: Any, teammate: Any
) -> None:
    company = f.CompanyFactory(owner=teammate, shared_with_team=True)
    url = field_url(company, "name")
    assert f'hx-get="{url}"' in render_tag(company, "name", teammate)
    read_only = render_tag(company, "name", sales_rep)
    assert company.name in read_only
    assert "hx-get" not in read_only


def test_display_uses_the_context_can_edit_without_queries(
    sales_rep: Any, django_assert_num_queries
) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    with django_assert_num_queries(0):
        for name in ("name", "type", "status", "phone", "website", "tags"):
            assert "hx-get" in render_tag(company, name, sales_rep, can_edit=True)


def test_display_computes_can_edit_once_per_record(
    sales_rep: Any, teammate: Any, django_assert_max_num_queries
) -> None:
    company = f.CompanyFactory(owner=teammate, shared_with_team=True)
    with django_assert_max_num_queries(2):  # the team, then the rule: once for all fields
        for name in ("name", "type", "status", "phone", "website", "domain"):
            render_tag(company, name, sales_rep)


def test_display_of_a_custom_field_uses_its_definition(sales_rep: Any, tier: Any) -> None:
    company = f.CompanyFactory(owner=sales_rep, custom_fields={"tier": "gold"})
    html = render_tag(company, "cf_tier", sales_rep)
    assert "gold" in html and 'aria-label="Edit Tier"' in html


# --- the endpoint ----------------------------------------------------------------------------


def test_get_answers_the_form_fragment_of_that_field(login: Any, sales_rep: Any) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Acme")
    response = login(sales_rep).get(field_url(company, "name"), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'hx-post="{field_url(company, "name")}"' in html
    assert 'name="name"' in html and 'value="Acme"' in html
    assert 'name="phone"' not in html
    assert "<html" not in html


def test_post_saves_and_answers_the_display_with_the_message_out_of_band(
    login: Any, sales_rep: Any
) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Acme")
    response = login(sales_rep).post(field_url(company, "name"), {"name": "Acme Corp"}, **HTMX)
    html = response.content.decode()
    company.refresh_from_db()
    assert company.name == "Acme Corp"
    assert response.status_code == 200
    assert 'class="inline-field"' in html and "Acme Corp" in html
    assert 'hx-swap-oob="true"' in html and "Name saved." in html


def test_post_with_a_bad_value_answers_the_form_with_the_field_error(
    login: Any, sales_rep: Any
) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Acme")
    response = login(sales_rep).post(
        field_url(company, "email"), {"email": "not-an-email"}, **HTMX
    )
    html = response.content.decode()
    # 200, so htmx swaps the error in (htmx 2 leaves 4xx answers unswapped by default).
    assert response.status_code == 200
    assert 'aria-invalid="true"' in html and "Enter a valid email address." in html
    assert 'value="not-an-email"' in html
    company.refresh_from_db()
    assert company.email != "not-an-email"


def test_cancel_answers_the_display_fragment(login: Any, sales_rep: Any) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Acme")
    html = login(sales_rep).get(field_url(company, "name") + "?cancel=1", **HTMX).content.decode()
    assert 'class="inline-field"' in html and "<form" not in html


def test_a_custom_field_is_edited_alone_and_the_others_are_kept(
    login: Any, sales_rep: Any, tier: Any, seats: Any
) -> None:
    company = f.CompanyFactory(owner=sales_rep, custom_fields={"tier": "gold", "seats": 5})
    client = login(sales_rep)
    client.post(field_url(company, "cf_tier"), {"cf_tier": "silver"}, **HTMX)
    company.refresh_from_db()
    assert company.custom_fields == {"tier": "silver", "seats": 5}
    response = client.post(field_url(company, "cf_seats"), {"cf_seats": "many"}, **HTMX)
    assert response.status_code == 200
    assert "Enter a whole number." in response.content.decode()


def test_fields_outside_the_allow_list_are_404(login: Any, sales_rep: Any) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    client = login(sales_rep)
    for name in ("owner", "legacy_id", "custom_fields", "cf_nope", "search_text"):
        assert client.get(field_url(company, name), **HTMX).status_code == 404


def test_read_only_users_get_403_and_outsiders_404(
    login: Any, sales_rep: Any, teammate: Any, outsider: Any
) -> None:
    company = f.CompanyFactory(owner=teammate, shared_with_team=True, name="Acme")
    assert login(sales_rep).post(field_url(company, "name"), {"name": "X"}).status_code == 403
    assert login(outsider).get(field_url(company, "name")).status_code == 404
    company.refresh_from_db()
    assert company.name == "Acme"


def test_inline_stage_change_closes_a_deal_on_a_won_stage(login: Any, sales_rep: Any) -> None:
    pipeline = f.PipelineFactory()
    open_stage = f.StageFactory(pipeline=pipeline, position=0)
    won = f.StageFactory(pipeline=pipeline, is_won=True, position=1)
    deal = f.DealFactory(owner=sales_rep, pipeline=pipeline, stage=open_stage)
    login(sales_rep).post(field_url(deal, "stage"), {"stage": won.pk}, **HTMX)
    deal.refresh_from_db()
    assert (deal.stage, deal.status) == (won, "won") and deal.closed_at is not None


def test_inline_stage_offers_only_the_deals_pipeline(login: Any, sales_rep: Any) -> None:
    deal = f.DealFactory(owner=sales_rep)
    other = f.StageFactory()
    client = login(sales_rep)
    assert str(other.pk) not in client.get(field_url(deal, "stage"), **HTMX).content.decode()
    response = client.post(field_url(deal, "stage"), {"stage": other.pk}, **HTMX)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage != other


def test_inline_task_done_stamps_completed_at(login: Any, sales_rep: Any) -> None:
    task = f.TaskFactory(owner=sales_rep)
    login(sales_rep).post(field_url(task, "status"), {"status": "done"}, **HTMX)
    task.refresh_from_db()
    assert task.status == "done" and task.completed_at is not None


def test_inline_company_of_a_contact_is_a_select_while_companies_are_few(
    login: Any, sales_rep: Any
) -> None:
    acme = f.CompanyFactory(owner=sales_rep, name="Acme")
    contact = f.ContactFactory(owner=sales_rep, company=acme)
    html = login(sales_rep).get(field_url(contact, "company"), **HTMX).content.decode()
    assert '<select name="company"' in html and "autofocus" in html
    assert f'<option value="{acme.pk}" selected>Acme</option>' in html


def test_inline_company_of_a_contact_is_a_type_ahead_when_companies_are_many(
    login: Any, sales_rep: Any, outsider: Any, monkeypatch: Any
) -> None:
    from crm.forms.widgets import RecordAutocompleteWidget

    monkeypatch.setattr(RecordAutocompleteWidget, "select_limit", 1)
    acme = f.CompanyFactory(owner=sales_rep, name="Acme")
    globex = f.CompanyFactory(owner=sales_rep, name="Globex")
    hidden = f.CompanyFactory(owner=outsider, name="Hidden Ltd")
    contact = f.ContactFactory(owner=sales_rep, company=acme)
    client = login(sales_rep)
    html = client.get(field_url(contact, "company"), **HTMX).content.decode()
    assert 'role="combobox"' in html and 'value="Acme"' in html and "autofocus" in html
    assert f'type="hidden" name="company" value="{acme.pk}"' in html
    assert "Globex" not in html
    refused = client.post(field_url(contact, "company"), {"company": hidden.pk}, **HTMX)
    assert 'aria-invalid="true"' in refused.content.decode()
    saved = client.post(field_url(contact, "company"), {"company": globex.pk}, **HTMX)
    assert "Globex" in saved.content.decode()
    contact.refresh_from_db()
    assert contact.company == globex
