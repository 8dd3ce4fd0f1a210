"""The database itself refuses bad rows: every write below bypasses Django's validation
(QuerySet.update(), bulk_create or raw SQL), so only the constraints stand in the way.

Each refusal runs in its own savepoint (`transaction.atomic()`) so the test transaction
survives it, and names the constraint PostgreSQL reported.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.utils import timezone

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
    PipelineFactory,
    StageFactory,
    TaskFactory,
)
from crm.models import (
    Company,
    Contact,
    Contract,
    CustomFieldDefinition,
    Deal,
    Document,
    Invoice,
    Lead,
    Note,
    Pipeline,
    Stage,
    Task,
)

pytestmark = pytest.mark.django_db


@contextmanager
def refused_by(constraint: str) -> Iterator[None]:
    """Expect the block to be refused by the database constraint (or unique index) named."""
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        yield
    # psycopg reports which constraint fired; a bare IntegrityError could be any of them.
    assert excinfo.value.__cause__.diag.constraint_name == constraint


def raw_update(model: type[models.Model], pk: Any, assignment: str, *params: Any) -> None:
    """UPDATE one row with hand-written SQL, as a script or another client would."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {model._meta.db_table} SET {assignment} WHERE id = %s",  # noqa: S608
            [*params, pk],
        )


def refetch(obj: models.Model) -> models.Model:
    return type(obj)._base_manager.get(pk=obj.pk)


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


# --- pipelines and stages ---------------------------------------------------------------------


def test_two_stages_with_the_same_name_in_one_pipeline_are_refused() -> None:
    pipeline = PipelineFactory()
    StageFactory(pipeline=pipeline, name="Proposal", position=0)
    with refused_by("stage_name_per_pipeline"):
        Stage.objects.bulk_create([Stage(pipeline=pipeline, name="Proposal", position=1)])


def test_the_same_stage_name_in_two_pipelines_is_accepted() -> None:
    StageFactory(pipeline=PipelineFactory(), name="Proposal", position=0)
    StageFactory(pipeline=PipelineFactory(), name="Proposal", position=0)
    assert Stage.objects.filter(name="Proposal").count() == 2


def test_swapping_two_stage_positions_in_one_transaction_is_accepted() -> None:
    pipeline = PipelineFactory()
    first = StageFactory(pipeline=pipeline, position=0)
    second = StageFactory(pipeline=pipeline, position=1)
    with transaction.atomic():
        Stage.objects.filter(pk=first.pk).update(position=1)
        Stage.objects.filter(pk=second.pk).update(position=0)
        # What COMMIT would do: check the deferred constraint now. It holds after the swap.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS stage_position_per_pipeline IMMEDIATE")
    assert refetch(first).position == 1
    assert refetch(second).position == 0


def test_two_stages_left_at_one_position_are_refused_at_commit() -> None:
    pipeline = PipelineFactory()
    StageFactory(pipeline=pipeline, position=0)
    second = StageFactory(pipeline=pipeline, position=1)
    with refused_by("stage_position_per_pipeline"):
        # Deferred: the duplicate is allowed mid-transaction ...
        Stage.objects.filter(pk=second.pk).update(position=0)
        # ... and refused when the transaction would commit.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS stage_position_per_pipeline IMMEDIATE")


def test_the_same_stage_position_in_two_pipelines_is_accepted() -> None:
    StageFactory(pipeline=PipelineFactory(), position=3)
    StageFactory(pipeline=PipelineFactory(), position=3)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS stage_position_per_pipeline IMMEDIATE")
    assert Stage.objects.filter(position=3).count() == 2


def test_stage_probability_over_100_percent_is_refused() -> None:
    stage = StageFactory()
    with refused_by("stage_probability_percent"):
        Stage.objects.filter(pk=stage.pk).update(probability=101)


def test_stage_probability_of_0_and_100_percent_is_accepted() -> None:
    stage = StageFactory()
    Stage.objects.filter(pk=stage.pk).update(probability=100)
    assert refetch(stage).probability == 100
    Stage.objects.filter(pk=stage.pk).update(probability=0)
    assert refetch(stage).probability == 0


def test_negative_stage_probability_is_refused() -> None:
    stage = StageFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_update(Stage, stage.pk, "probability = -1")


def test_stage_both_won_and_lost_is_refused() -> None:
    stage = StageFactory()
    with refused_by("stage_not_won_and_lost"):
        Stage.objects.filter(pk=stage.pk).update(is_won=True, is_lost=True)


@pytest.mark.parametrize(("won", "lost"), [(True, False), (False, True), (False, False)])
def test_stage_won_or_lost_or_neither_is_accepted(won: bool, lost: bool) -> None:
    stage = StageFactory()
    Stage.objects.filter(pk=stage.pk).update(is_won=won, is_lost=lost)
    assert (refetch(stage).is_won, refetch(stage).is_lost) == (won, lost)


def test_a_second_default_pipeline_is_refused() -> None:
    Pipeline.objects.bulk_create([Pipeline(name="Sales", is_default=True)])
    with refused_by("pipeline_single_default"):
        Pipeline.objects.bulk_create([Pipeline(name="Renewals", is_default=True)])


def test_many_non_default_pipelines_are_accepted() -> None:
    Pipeline.objects.bulk_create(
        [Pipeline(name="Sales", is_default=True)]
        + [Pipeline(name=f"Other {n}", is_default=False) for n in range(3)]
    )
    assert Pipeline.objects.filter(is_default=True).count() == 1
    assert Pipeline.objects.filter(is_default=False).count() == 3


# --- a deal's stage belongs to the deal's pipeline --------------------------------------------


def test_deal_moved_to_a_stage_of_another_pipeline_is_refused() -> None:
    deal = DealFactory()
    foreign_stage = StageFactory(pipeline=PipelineFactory())
    with refused_by("deal_stage_in_pipeline_fk"):
        Deal.objects.filter(pk=deal.pk).update(stage=foreign_stage)


def test_deal_inserted_with_a_stage_of_another_pipeline_is_refused() -> None:
    pipeline = PipelineFactory()
    foreign_stage = StageFactory(pipeline=PipelineFactory())
    deal = Deal(name="Mismatched", pipeline=pipeline, stage=foreign_stage, currency="USD")
    with refused_by("deal_stage_in_pipeline_fk"):
        Deal.objects.bulk_create([deal])


def test_deal_moved_to_another_pipeline_with_one_of_its_stages_is_accepted() -> None:
    deal = DealFactory()
    other = PipelineFactory()
    other_stage = StageFactory(pipeline=other)
    Deal.objects.filter(pk=deal.pk).update(pipeline=other, stage=other_stage)
    moved = refetch(deal)
    assert (moved.pipeline_id, moved.stage_id) == (other.pk, other_stage.pk)


def test_stage_moved_to_another_pipeline_takes_its_deals_along() -> None:
    deal = DealFactory()
    other = PipelineFactory()
    # ON UPDATE CASCADE on the composite key keeps the deal consistent with its stage.
    Stage.objects.filter(pk=deal.stage_id).update(pipeline=other)
    assert refetch(deal).pipeline_id == other.pk


def test_deal_full_clean_reports_a_stage_of_another_pipeline_on_the_stage_field() -> None:
    deal = DealFactory()
    deal.stage = StageFactory(pipeline=PipelineFactory())
    with pytest.raises(ValidationError) as excinfo:
        deal.full_clean()
    assert "stage" in excinfo.value.message_dict


def test_deal_full_clean_reports_a_missing_stage_on_the_stage_field() -> None:
    deal = DealFactory()
    deal.stage_id = uuid.uuid4()
    with pytest.raises(ValidationError) as excinfo:
        deal.full_clean()
    assert "stage" in excinfo.value.message_dict


def test_deal_full_clean_accepts_a_stage_of_its_own_pipeline() -> None:
    deal = DealFactory()
    deal.stage = StageFactory(pipeline=deal.pipeline)
    deal.full_clean()


# --- notes and tasks hang off at most what their columns allow --------------------------------


def _parents() -> dict[str, models.Model]:
    owner = UserFactory()
    company = CompanyFactory(owner=owner)
    return {
        "company": company,
        "contact": ContactFactory(owner=owner, company=company),
        "lead": LeadFactory(owner=owner),
        "deal": DealFactory(owner=owner, company=company),
    }


def test_note_without_a_parent_is_refused() -> None:
    with refused_by("note_exactly_one_parent"):
        Note.objects.bulk_create([Note(body="Orphan")])


@pytest.mark.parametrize(
    ("first", "second"), [("company", "contact"), ("contact", "lead"), ("lead", "deal")]
)
def test_note_with_two_parents_is_refused(first: str, second: str) -> None:
    parents = _parents()
    note = NoteFactory(**{"company": None, first: parents[first]})
    with refused_by("note_exactly_one_parent"):
        Note.objects.filter(pk=note.pk).update(**{second: parents[second]})


def test_note_with_all_four_parents_is_refused() -> None:
    with refused_by("note_exactly_one_parent"):
        Note.objects.bulk_create([Note(body="Everywhere", **_parents())])


@pytest.mark.parametrize("parent", ["company", "contact", "lead", "deal"])
def test_note_with_exactly_one_parent_is_accepted(parent: str) -> None:
    record = _parents()[parent]
    (note,) = Note.objects.bulk_create([Note(body="Called back", **{parent: record})])
    assert getattr(refetch(note), f"{parent}_id") == record.pk


def test_task_with_two_parents_is_refused() -> None:
    parents = _parents()
    task = TaskFactory(deal=parents["deal"])
    with refused_by("task_at_most_one_parent"):
        Task.objects.filter(pk=task.pk).update(company=parents["company"])


def test_task_with_four_parents_is_refused() -> None:
    with refused_by("task_at_most_one_parent"):
        Task.objects.bulk_create([Task(title="Everything", **_parents())])


def test_loose_task_without_a_parent_is_accepted() -> None:
    (task,) = Task.objects.bulk_create([Task(title="Tidy the pipeline")])
    assert refetch(task).title == "Tidy the pipeline"


@pytest.mark.parametrize("parent", ["company", "contact", "lead", "deal"])
def test_task_with_one_parent_is_accepted(parent: str) -> None:
    record = _parents()[parent]
    task = TaskFactory(**{parent: record})
    assert getattr(refetch(task), f"{parent}_id") == record.pk


@pytest.mark.parametrize("status", [Task.Status.OPEN, Task.Status.IN_PROGRESS])
def test_task_completed_at_on_an_unfinished_task_is_refused(status: str) -> None:
    task = TaskFactory(status=status)
    with refused_by("task_completed_only_when_done"):
        Task.objects.filter(pk=task.pk).update(completed_at=timezone.now())


def test_done_task_with_completed_at_is_accepted() -> None:
    task = TaskFactory()
    Task.objects.filter(pk=task.pk).update(status=Task.Status.DONE, completed_at=timezone.now())
    assert refetch(task).completed_at is not None


def test_reopening_a_done_task_without_clearing_completed_at_is_refused() -> None:
    task = TaskFactory(status=Task.Status.DONE, completed_at=timezone.now())
    with refused_by("task_completed_only_when_done"):
        Task.objects.filter(pk=task.pk).update(status=Task.Status.OPEN)


# --- leads --------------------------------------------------------------------------------------


def test_converted_lead_without_converted_at_is_refused() -> None:
    lead = LeadFactory()
    with refused_by("lead_converted_at_iff_converted"):
        Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.CONVERTED)


@pytest.mark.parametrize("status", [s for s in Lead.Status.values if s != Lead.Status.CONVERTED])
def test_converted_at_on_a_lead_not_converted_is_refused(status: str) -> None:
    lead = LeadFactory(status=status)
    with refused_by("lead_converted_at_iff_converted"):
        Lead.objects.filter(pk=lead.pk).update(converted_at=timezone.now())


def test_converted_lead_with_converted_at_is_accepted() -> None:
    lead = LeadFactory()
    Lead.objects.filter(pk=lead.pk).update(
        status=Lead.Status.CONVERTED, converted_at=timezone.now()
    )
    assert refetch(lead).status == Lead.Status.CONVERTED


# --- contracts and documents ------------------------------------------------------------------


def test_contract_ending_before_it_starts_is_refused() -> None:
    contract = ContractFactory(start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31))
    with refused_by("contract_ends_after_start"):
        Contract.objects.filter(pk=contract.pk).update(end_date=dt.date(2024, 12, 31))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date(2025, 1, 1), dt.date(2025, 1, 1)),
        (dt.date(2025, 1, 1), None),
        (None, dt.date(2025, 1, 1)),
        (None, None),
    ],
    ids=["same-day", "open-ended", "no-start", "undated"],
)
def test_contract_dates_in_order_or_open_are_accepted(
    start: dt.date | None, end: dt.date | None
) -> None:
    contract = ContractFactory()
    Contract.objects.filter(pk=contract.pk).update(start_date=start, end_date=end)
    assert (refetch(contract).start_date, refetch(contract).end_date) == (start, end)


def test_document_without_file_or_url_is_refused() -> None:
    document = DocumentFactory()
    with refused_by("document_file_or_url"):
        Document.objects.filter(pk=document.pk).update(url="", file="")


@pytest.mark.parametrize(
    ("file", "url"),
    [("documents/2025/01/offer.pdf", ""), ("", "https://files.example/offer.pdf")],
    ids=["file", "url"],
)
def test_document_with_a_file_or_a_url_is_accepted(file: str, url: str) -> None:
    (document,) = Document.objects.bulk_create([Document(name="Offer", file=file, url=url)])
    assert refetch(document).name == "Offer"


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
