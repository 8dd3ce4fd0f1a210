"""The database itself refuses bad rows: every write below bypasses Django's validation
(QuerySet.update(), bulk_create or raw SQL), so only the constraints stand in the way.

Each refusal runs in its own savepoint (`transaction.atomic()`) so the test transaction
survives it, and names the constraint PostgreSQL reported.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import F

from accounts.factories import UserFactory
from accounts.models import User
from crm.factories import (
    CompanyFactory,
    ContactFactory,
    ContractFactory,
    CustomFieldDefinitionFactory,
    DealFactory,
    DocumentFactory,
    InvoiceFactory,
    LeadFactory,
    NoteFactory,
    StageFactory,
    TaskFactory,
)
from crm.models import (
    Company,
    Contact,
    CustomFieldDefinition,
    Invoice,
)
from tests.crm.constraint_helpers import raw_update, refetch, refused_by

pytestmark = pytest.mark.django_db


# --- every declared constraint is really in the database -------------------------------------


def _declared_constraints() -> list[tuple[str, str]]:
    pairs = []
    for app_label in ("crm", "accounts"):
        for model in apps.get_app_config(app_label).get_models():
            pairs += [(model._meta.db_table, c.name) for c in model._meta.constraints]
    return sorted(pairs)


@pytest.mark.parametrize(("table", "name"), _declared_constraints())
def test_declared_constraint_exists_in_the_database(table: str, name: str) -> None:
    with connection.cursor() as cursor:
        # Unique constraints over expressions are unique indexes, not pg_constraint rows.
        cursor.execute(
            """
            SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass AND conname = %s
            UNION ALL
            SELECT 1 FROM pg_indexes WHERE tablename = %s AND indexname = %s
            """,
            [table, name, table, name],
        )
        assert cursor.fetchone() is not None


def test_deal_stage_composite_foreign_key_exists_in_the_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'crm_deal'::regclass AND conname = 'deal_stage_in_pipeline_fk'"
        )
        (definition,) = cursor.fetchone()
    assert "FOREIGN KEY (stage_id, pipeline_id) REFERENCES crm_stage(id, pipeline_id)" in (
        definition
    )


# --- money and sizes are never negative ------------------------------------------------------

MONEY_COLUMNS = [
    pytest.param(CompanyFactory, "annual_revenue", "company_revenue_non_negative", id="company"),
    pytest.param(DealFactory, "amount", "deal_amount_non_negative", id="deal"),
    pytest.param(ContractFactory, "value", "contract_value_non_negative", id="contract"),
    pytest.param(InvoiceFactory, "amount", "invoice_amount_non_negative", id="invoice"),
    pytest.param(DocumentFactory, "size", "document_size_non_negative", id="document"),
]


@pytest.mark.parametrize(("factory", "field", "constraint"), MONEY_COLUMNS)
def test_negative_money_or_size_is_refused_by_update(
    factory: Any, field: str, constraint: str
) -> None:
    obj = factory()
    with refused_by(constraint):
        type(obj).objects.filter(pk=obj.pk).update(**{field: -1})


@pytest.mark.parametrize(("factory", "field", "constraint"), MONEY_COLUMNS)
def test_negative_money_or_size_is_refused_by_raw_sql(
    factory: Any, field: str, constraint: str
) -> None:
    obj = factory()
    with refused_by(constraint):
        raw_update(type(obj), obj.pk, f"{field} = %s", -1)


@pytest.mark.parametrize(("factory", "field", "constraint"), MONEY_COLUMNS)
def test_zero_money_or_size_is_accepted(factory: Any, field: str, constraint: str) -> None:
    obj = factory()
    type(obj).objects.filter(pk=obj.pk).update(**{field: 0})
    assert getattr(refetch(obj), field) == 0


def test_unknown_revenue_and_size_may_be_null() -> None:
    company = CompanyFactory(annual_revenue=None)
    document = DocumentFactory(size=None)
    assert refetch(company).annual_revenue is None
    assert refetch(document).size is None


def test_negative_invoice_amount_is_refused_by_bulk_create() -> None:
    invoice = InvoiceFactory.build(amount=Decimal("-5.00"), company=None, owner=None)
    with refused_by("invoice_amount_non_negative"):
        Invoice.objects.bulk_create([invoice])


# --- currency codes ---------------------------------------------------------------------------

CURRENCY_COLUMNS = [
    pytest.param(DealFactory, "deal_currency_iso", id="deal"),
    pytest.param(ContractFactory, "contract_currency_iso", id="contract"),
    pytest.param(InvoiceFactory, "invoice_currency_iso", id="invoice"),
]


@pytest.mark.parametrize(("factory", "constraint"), CURRENCY_COLUMNS)
@pytest.mark.parametrize("code", ["usd", "Usd", "US", "U5D", "E R", ""])
def test_malformed_currency_code_is_refused(factory: Any, constraint: str, code: str) -> None:
    obj = factory()
    with refused_by(constraint):
        type(obj).objects.filter(pk=obj.pk).update(currency=code)


@pytest.mark.parametrize(("factory", "constraint"), CURRENCY_COLUMNS)
def test_iso_currency_code_is_accepted(factory: Any, constraint: str) -> None:
    obj = factory()
    type(obj).objects.filter(pk=obj.pk).update(currency="EUR")
    assert refetch(obj).currency == "EUR"


# --- JSON columns hold the JSON type they are read as -----------------------------------------

CUSTOMIZABLE = [
    pytest.param(CompanyFactory, "company", id="company"),
    pytest.param(ContactFactory, "contact", id="contact"),
    pytest.param(LeadFactory, "lead", id="lead"),
    pytest.param(DealFactory, "deal", id="deal"),
    pytest.param(ContractFactory, "contract", id="contract"),
    pytest.param(TaskFactory, "task", id="task"),
    pytest.param(DocumentFactory, "document", id="document"),
    pytest.param(InvoiceFactory, "invoice", id="invoice"),
]


@pytest.mark.parametrize(("factory", "prefix"), CUSTOMIZABLE)
@pytest.mark.parametrize("bad_json", ["[]", '"text"', "42", "null", "true"])
def test_custom_fields_that_are_not_an_object_are_refused(
    factory: Any, prefix: str, bad_json: str
) -> None:
    obj = factory()
    with refused_by(f"{prefix}_cf_is_object"):
        raw_update(type(obj), obj.pk, "custom_fields = %s::jsonb", bad_json)


@pytest.mark.parametrize(("factory", "prefix"), CUSTOMIZABLE)
def test_custom_fields_list_written_by_the_orm_is_refused(factory: Any, prefix: str) -> None:
    obj = factory()
    with refused_by(f"{prefix}_cf_is_object"):
        type(obj).objects.filter(pk=obj.pk).update(custom_fields=["a", "b"])


@pytest.mark.parametrize(("factory", "prefix"), CUSTOMIZABLE)
def test_custom_fields_object_is_accepted(factory: Any, prefix: str) -> None:
    obj = factory()
    raw_update(type(obj), obj.pk, "custom_fields = %s::jsonb", '{"tier": "gold"}')
    assert refetch(obj).custom_fields == {"tier": "gold"}


@pytest.mark.parametrize(
    ("factory", "field", "bad_json", "constraint"),
    [
        pytest.param(InvoiceFactory, "line_items", "{}", "invoice_line_items_is_array", id="li"),
        pytest.param(
            InvoiceFactory, "line_items", '"one"', "invoice_line_items_is_array", id="li-str"
        ),
        pytest.param(InvoiceFactory, "partner", "[]", "invoice_partner_is_object", id="partner"),
        pytest.param(
            ContactFactory, "social_profiles", '"@ann"', "contact_social_is_object", id="social"
        ),
        pytest.param(
            ContactFactory, "social_profiles", "[]", "contact_social_is_object", id="social-list"
        ),
    ],
)
def test_json_column_of_the_wrong_type_is_refused(
    factory: Any, field: str, bad_json: str, constraint: str
) -> None:
    obj = factory()
    with refused_by(constraint):
        raw_update(type(obj), obj.pk, f"{field} = %s::jsonb", bad_json)


def test_json_columns_of_the_right_type_are_accepted() -> None:
    invoice = InvoiceFactory()
    contact = ContactFactory()
    line_items = [{"description": "Setup", "quantity": 1, "unit_price": "100.00"}]
    Invoice.objects.filter(pk=invoice.pk).update(
        line_items=line_items, partner={"name": "ACME", "vat": "DE123"}
    )
    Contact.objects.filter(pk=contact.pk).update(
        social_profiles={"linkedin": "https://linkedin.example/ann"}
    )
    assert refetch(invoice).line_items == line_items
    assert refetch(invoice).partner == {"name": "ACME", "vat": "DE123"}
    assert refetch(contact).social_profiles == {"linkedin": "https://linkedin.example/ann"}


# --- companies, users, legacy ids ---------------------------------------------------------------


def test_company_as_its_own_parent_is_refused() -> None:
    company = CompanyFactory()
    with refused_by("company_not_own_parent"):
        Company.objects.filter(pk=company.pk).update(parent=F("id"))


def test_company_with_another_parent_is_accepted() -> None:
    parent = CompanyFactory()
    subsidiary = CompanyFactory()
    Company.objects.filter(pk=subsidiary.pk).update(parent=parent)
    assert refetch(subsidiary).parent_id == parent.pk


def test_user_email_differing_only_in_case_is_refused() -> None:
    UserFactory(email="Ann.Lee@Example.com")
    with refused_by("user_email_ci_uniq"):
        User.objects.bulk_create([User(email="ann.lee@example.com")])


def test_user_email_changed_to_another_users_in_other_case_is_refused() -> None:
    UserFactory(email="ann@example.com")
    bob = UserFactory(email="bob@example.com")
    with refused_by("user_email_ci_uniq"):
        User.objects.filter(pk=bob.pk).update(email="ANN@example.com")


def test_user_with_an_unknown_role_is_refused() -> None:
    user = UserFactory()
    with refused_by("user_role_valid"):
        User.objects.filter(pk=user.pk).update(role="overlord")


LEGACY_ID_MODELS = [
    pytest.param(CompanyFactory, id="company"),
    pytest.param(ContactFactory, id="contact"),
    pytest.param(LeadFactory, id="lead"),
    pytest.param(DealFactory, id="deal"),
    pytest.param(NoteFactory, id="note"),
    pytest.param(StageFactory, id="stage"),
    pytest.param(UserFactory, id="user"),
]


@pytest.mark.parametrize("factory", LEGACY_ID_MODELS)
def test_duplicate_legacy_id_is_refused(factory: Any) -> None:
    first, second = factory(), factory()
    model = type(first)
    model.objects.filter(pk=first.pk).update(legacy_id="64b7f0c2e4b0a1d2c3e4f5a6")
    constraint = f"{model._meta.db_table}_legacy_id_key"
    with refused_by(constraint):
        model.objects.filter(pk=second.pk).update(legacy_id="64b7f0c2e4b0a1d2c3e4f5a6")


@pytest.mark.parametrize("factory", LEGACY_ID_MODELS)
def test_many_records_without_a_legacy_id_are_accepted(factory: Any) -> None:
    first, second = factory(), factory()
    model = type(first)
    model.objects.filter(pk__in=[first.pk, second.pk]).update(legacy_id=None)
    assert model.objects.filter(pk__in=[first.pk, second.pk], legacy_id=None).count() == 2


# --- custom field definitions -----------------------------------------------------------------


@pytest.mark.parametrize("key", ["Score", "lead-score", "1st_contact", "_hidden", "", "a b"])
def test_custom_field_key_outside_the_stored_key_format_is_refused(key: str) -> None:
    definition = CustomFieldDefinitionFactory()
    with refused_by("cfdef_key_format"):
        CustomFieldDefinition.objects.filter(pk=definition.pk).update(key=key)


@pytest.mark.parametrize("key", ["score", "lead_score", "x1", "a_b_c_2"])
def test_custom_field_key_in_the_stored_key_format_is_accepted(key: str) -> None:
    definition = CustomFieldDefinitionFactory()
    CustomFieldDefinition.objects.filter(pk=definition.pk).update(key=key)
    assert refetch(definition).key == key


def test_two_custom_fields_with_one_key_on_one_entity_are_refused() -> None:
    CustomFieldDefinitionFactory(entity="contact", key="tier")
    with refused_by("cfdef_entity_key_uniq"):
        CustomFieldDefinition.objects.bulk_create(
            [CustomFieldDefinition(entity="contact", key="tier", label="Tier", field_type="text")]
        )


def test_one_custom_field_key_on_two_entities_is_accepted() -> None:
    CustomFieldDefinitionFactory(entity="contact", key="tier")
    CustomFieldDefinitionFactory(entity="company", key="tier")
    assert CustomFieldDefinition.objects.filter(key="tier").count() == 2


@pytest.mark.parametrize("field_type", ["choice", "multi_choice"])
def test_choice_field_without_choices_is_refused(field_type: str) -> None:
    definition = CustomFieldDefinitionFactory(field_type=field_type, choices=["gold", "silver"])
    with refused_by("cfdef_choices_match_type"):
        CustomFieldDefinition.objects.filter(pk=definition.pk).update(choices=[])


@pytest.mark.parametrize(
    "field_type", [t for t in CustomFieldDefinition.FieldType.values if "choice" not in t]
)
def test_non_choice_field_with_choices_is_refused(field_type: str) -> None:
    definition = CustomFieldDefinitionFactory(field_type=field_type)
    with refused_by("cfdef_choices_match_type"):
        CustomFieldDefinition.objects.filter(pk=definition.pk).update(choices=["gold"])


@pytest.mark.parametrize(
    ("field_type", "choices"),
    [("choice", ["gold", "silver"]), ("multi_choice", ["a"]), ("text", []), ("date", [])],
)
def test_choices_matching_the_field_type_are_accepted(field_type: str, choices: list[str]) -> None:
    definition = CustomFieldDefinitionFactory()
    CustomFieldDefinition.objects.filter(pk=definition.pk).update(
        field_type=field_type, choices=choices
    )
    assert refetch(definition).choices == choices
