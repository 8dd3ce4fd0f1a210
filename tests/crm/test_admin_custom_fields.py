"""Custom fields in the admin: one validated form field per definition, never a 500."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from crm import factories as f
from crm import models


def _change_url(contact: models.Contact) -> str:
    return reverse("admin:crm_contact_change", args=[contact.pk])


def _contact_form_data(contact: models.Contact, **custom: str) -> dict[str, str]:
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "type": contact.type,
        "is_active": "on",
        "owner": str(contact.owner_id),
        "company": str(contact.company_id),
        "email": contact.email,
        "social_profiles": "{}",
        "tags": "",
        **custom,
    }


@pytest.fixture
def contact_custom_fields() -> None:
    CFD = models.CustomFieldDefinition
    make = f.CustomFieldDefinitionFactory
    make(key="seats", label="Seats", field_type=CFD.FieldType.NUMBER)
    make(key="tier", label="Tier", field_type=CFD.FieldType.CHOICE, choices=["gold", "silver"])
    make(key="renewal", label="Renewal", field_type=CFD.FieldType.DATE)
    make(key="budget", label="Budget", field_type=CFD.FieldType.DECIMAL)
    make(key="vip", label="VIP", field_type=CFD.FieldType.BOOLEAN, required=True)
    make(key="notes", label="Notes", field_type=CFD.FieldType.LONG_TEXT)


@pytest.mark.django_db
def test_custom_fields_are_form_fields_filled_from_the_record(
    admin_client, contact_custom_fields
) -> None:
    contact = f.ContactFactory(
        custom_fields={"seats": 12, "tier": "gold", "renewal": "2026-03-01", "vip": True}
    )

    form = admin_client.get(_change_url(contact)).context["adminform"].form

    assert form["cf_seats"].value() == 12
    assert form["cf_tier"].value() == "gold"
    assert str(form["cf_renewal"].value()) == "2026-03-01"
    assert form["cf_vip"].value() is True
    assert form.fields["cf_notes"].widget.__class__.__name__ == "Textarea"
    assert "custom_fields" not in form.fields  # the raw JSON is read-only


@pytest.mark.django_db
def test_valid_custom_fields_are_saved_normalised(admin_client, contact_custom_fields) -> None:
    contact = f.ContactFactory()

    response = admin_client.post(
        _change_url(contact),
        _contact_form_data(
            contact,
            cf_seats="40",
            cf_tier="silver",
            cf_renewal="2026-01-31",
            cf_budget="1200.50",
            cf_vip="false",
        ),
    )

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.custom_fields == {
        "seats": 40,
        "tier": "silver",
        "renewal": "2026-01-31",
        "budget": "1200.50",
        "vip": False,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("cf_seats", "forty"), ("cf_tier", "platinum"), ("cf_renewal", "31/01/2026")],
)
def test_bad_custom_field_value_is_an_error_on_that_field(
    admin_client, contact_custom_fields, field: str, value: str
) -> None:
    contact = f.ContactFactory(custom_fields={"vip": True})

    response = admin_client.post(
        _change_url(contact),
        _contact_form_data(contact, cf_vip="true", **{field: value}),
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.errors) == [field]
    contact.refresh_from_db()
    assert contact.custom_fields == {"vip": True}


@pytest.mark.django_db
def test_required_yes_no_custom_field_accepts_no_but_not_unset(
    admin_client, contact_custom_fields
) -> None:
    contact = f.ContactFactory(custom_fields={"vip": True})
    url = _change_url(contact)

    unset = admin_client.post(url, _contact_form_data(contact, cf_vip="unknown"))
    answered_no = admin_client.post(url, _contact_form_data(contact, cf_vip="false"))

    assert unset.status_code == 200
    assert unset.context["adminform"].form.errors["cf_vip"] == ["VIP is required."]
    assert answered_no.status_code == 302


@pytest.mark.django_db
def test_custom_field_error_from_model_clean_is_a_form_error_not_a_crash(
    rf, admin_user, contact_custom_fields
) -> None:
    # The model's own validation (CustomizableRecord.clean) reports on "custom_fields", which
    # the form does not have: it must become a form error, not a ValueError.
    contact = f.ContactFactory(custom_fields={"vip": True})
    request = rf.get("/")
    request.user = admin_user
    form_class = admin.site._registry[models.Contact].get_form(request, contact, change=True)
    form = form_class(_contact_form_data(contact, cf_vip="true"), instance=contact)
    models.CustomFieldDefinition.objects.filter(key="seats").update(required=True)

    assert not form.is_valid()
    assert "Seats is required." in form.non_field_errors()


@pytest.mark.django_db
def test_definition_admin_filters_by_entity_and_type(admin_client) -> None:
    f.CustomFieldDefinitionFactory(entity="deal", label="Deal field")
    f.CustomFieldDefinitionFactory(entity="contact", label="Contact field")

    response = admin_client.get(
        reverse("admin:crm_customfielddefinition_changelist"), {"entity__exact": "deal"}
    )

    assert [d.label for d in response.context["cl"].result_list] == ["Deal field"]
    specs = [spec.title for spec in response.context["cl"].filter_specs]
    assert "entity" in specs
    assert "field type" in specs


@pytest.mark.django_db
def test_values_over_the_record_size_cap_together_are_a_form_error(
    admin_client, settings, contact_custom_fields
) -> None:
    # Each value fits the cap alone; only the record as a whole is too big, so the error
    # belongs to no single field.
    settings.CUSTOM_FIELDS_MAX_BYTES = 300
    f.CustomFieldDefinitionFactory(key="motto", label="Motto")
    contact = f.ContactFactory(custom_fields={"vip": True})

    response = admin_client.post(
        _change_url(contact),
        _contact_form_data(contact, cf_vip="true", cf_notes="x" * 200, cf_motto="y" * 200),
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.errors) == ["__all__"]
    assert "the limit is 300" in form.non_field_errors()[0]
    contact.refresh_from_db()
    assert contact.custom_fields == {"vip": True}
