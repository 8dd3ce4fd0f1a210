"""Create, edit and delete pages of every entity: forms with custom fields, field errors instead
of 500s, choices limited to what the user may see, and the permission answers (403 / 404)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from crm import factories as f
from crm.entities import ENTITIES
from crm.models import CustomFieldDefinition

pytestmark = pytest.mark.django_db

KEYS = list(ENTITIES)
FACTORIES = f.BY_ENTITY


@pytest.fixture
def stage(db: None) -> Any:
    pipeline = f.PipelineFactory(name="Sales", is_default=True)
    return f.StageFactory(pipeline=pipeline, name="Qualify", position=0)


@pytest.fixture
def tiers(db: None) -> None:
    """A required number field "score" on every entity: the create page shows it, a bad value
    is a field error."""
    for key in KEYS:
        f.CustomFieldDefinitionFactory(
            entity=key,
            key="score",
            label="Score",
            field_type=CustomFieldDefinition.FieldType.NUMBER,
            required=True,
        )


def valid_post(key: str, stage: Any, /, **extra: Any) -> dict[str, Any]:
    """The smallest valid POST of each entity's form (plus the custom field)."""
    data: dict[str, Any] = {
        "company": {"name": "Acme", "type": "customer", "status": "active"},
        "contact": {"last_name": "Lovelace", "type": "customer", "is_active": "on"},
        "lead": {"last_name": "Hopper", "status": "new"},
        "deal": {
            "name": "Big deal",
            "pipeline": stage.pipeline_id,
            "stage": stage.pk,
            "amount": "1000",
            "currency": "usd",
        },
        "contract": {"title": "MSA", "status": "not_started", "value": "0", "currency": "USD"},
        "task": {"title": "Call back", "status": "open", "priority": "medium"},
        "document": {"name": "Spec", "url": "https://files.example/spec.pdf", "kind": "other"},
    }[key]
    return {**data, "cf_score": "7", **extra}


def record_for(key: str, owner: Any, **kwargs: Any) -> Any:
    if key == "task":
        kwargs.setdefault("assignee", owner)
    return FACTORIES[key](owner=owner, **kwargs)


@pytest.mark.parametrize("key", KEYS)
def test_create_page_renders_the_custom_fields_within_a_query_budget(
    key: str, login: Any, sales_rep: Any, tiers: None, stage: Any, django_assert_max_num_queries
) -> None:
    client = login(sales_rep)
    with django_assert_max_num_queries(14):
        response = client.get(reverse(f"crm:{key}.create"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="cf_score"' in html
    assert "<legend>Custom fields</legend>" in html
    # Sales reps do not pick an owner: what they create is theirs.
    assert 'name="owner"' not in html


@pytest.mark.parametrize("key", KEYS)
def test_valid_post_creates_the_record_owned_and_audited_as_the_creator(
    key: str, login: Any, sales_rep: Any, tiers: None, stage: Any
) -> None:
    response = login(sales_rep).post(reverse(f"crm:{key}.create"), valid_post(key, stage))
    model = ENTITIES[key].model
    record = model.objects.get()
    assert response.status_code == 302
    assert response.url == record.get_absolute_url()
    assert record.owner == sales_rep
    assert record.custom_fields == {"score": 7}
    event = AuditEvent.objects.get(
        table_name=model._meta.db_table, record_id=str(record.pk), action="insert"
    )
    assert event.user == sales_rep
    follow = login(sales_rep).get(reverse(f"crm:{key}.list"))
    assert "created." in " ".join(str(m) for m in follow.context["messages"])


@pytest.mark.parametrize("key", KEYS)
def test_a_bad_custom_field_value_is_a_field_error_and_keeps_the_input(
    key: str, login: Any, sales_rep: Any, tiers: None, stage: Any
) -> None:
    data = valid_post(key, stage, cf_score="lots")
    response = login(sales_rep).post(reverse(f"crm:{key}.create"), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert "cf_score" in form.errors
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert 'id="id_cf_score_error"' in html
    assert 'value="lots"' in html  # nothing typed is lost
    assert not ENTITIES[key].model.objects.exists()


def test_a_stage_of_another_pipeline_is_an_error_on_the_stage(
    login: Any, sales_rep: Any, stage: Any
) -> None:
    other = f.StageFactory(pipeline=f.PipelineFactory(name="Renewals"), name="Renew")
    data = valid_post("deal", stage, stage=other.pk)
    response = login(sales_rep).post(reverse("crm:deal.create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["stage"] == ["This stage belongs to another pipeline."]


@pytest.mark.parametrize("key", ["contact", "lead", "deal", "contract"])
def test_a_company_the_user_cannot_see_is_refused(
    key: str, login: Any, sales_rep: Any, outsider: Any, stage: Any
) -> None:
    hidden = f.CompanyFactory(owner=outsider, name="Hidden Ltd")
    client = login(sales_rep)
    assert "Hidden Ltd" not in client.get(reverse(f"crm:{key}.create")).content.decode()
    response = client.post(reverse(f"crm:{key}.create"), valid_post(key, stage, company=hidden.pk))
    assert response.status_code == 200
    assert "company" in response.context["form"].errors


def test_a_won_stage_creates_the_deal_closed(login: Any, sales_rep: Any, stage: Any) -> None:
    won = f.StageFactory(pipeline=stage.pipeline, name="Won", is_won=True, position=9)
    login(sales_rep).post(reverse("crm:deal.create"), valid_post("deal", stage, stage=won.pk))
    deal = ENTITIES["deal"].model.objects.get()
    assert deal.status == "won"
    assert deal.closed_at is not None
    assert deal.currency == "USD"


def test_tags_are_typed_as_commas_and_kept_as_a_list(login: Any, sales_rep: Any) -> None:
    data = {"name": "Acme", "type": "customer", "status": "active", "tags": " vip, Vip ,, eu "}
    login(sales_rep).post(reverse("crm:company.create"), data)
    assert ENTITIES["company"].model.objects.get().tags == ["vip", "eu"]


def test_contract_ending_before_it_starts_is_an_error_on_the_end_date(
    login: Any, sales_rep: Any, stage: Any
) -> None:
    data = valid_post("contract", stage, start_date="2026-05-01", end_date="2026-04-01")
    response = login(sales_rep).post(reverse("crm:contract.create"), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["end_date"] == ["The end date is before the start date."]


def test_a_task_about_two_records_is_refused(login: Any, sales_rep: Any, stage: Any) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    lead = f.LeadFactory(owner=sales_rep)
    data = valid_post("task", stage, company=company.pk, lead=lead.pk)
    response = login(sales_rep).post(reverse("crm:task.create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["lead"] == ["A task is about one record at most."]


def test_a_task_created_done_is_stamped_completed(login: Any, sales_rep: Any, stage: Any) -> None:
    login(sales_rep).post(reverse("crm:task.create"), valid_post("task", stage, status="done"))
    assert ENTITIES["task"].model.objects.get().completed_at is not None


# --- prefill ---------------------------------------------------------------------------------


def test_contact_create_is_prefilled_with_a_visible_company(login: Any, sales_rep: Any) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    response = login(sales_rep).get(reverse("crm:contact.create") + f"?company={company.pk}")
    assert response.context["form"]["company"].value() == company.pk


def test_prefilling_an_invisible_company_is_404(login: Any, sales_rep: Any, outsider: Any) -> None:
    company = f.CompanyFactory(owner=outsider)
    url = reverse("crm:deal.create") + f"?company={company.pk}"
    assert login(sales_rep).get(url).status_code == 404


def test_a_task_on_a_read_only_record_is_refused(
    login: Any, sales_rep: Any, teammate: Any
) -> None:
    shared = f.CompanyFactory(owner=teammate, shared_with_team=True)
    url = reverse("crm:task.create") + f"?company={shared.pk}"
    assert login(sales_rep).get(url).status_code == 403


# --- owners ----------------------------------------------------------------------------------


def test_a_manager_may_create_for_a_teammate(
    login: Any, manager: Any, sales_rep: Any, outsider: Any
) -> None:
    client = login(manager)
    html = client.get(reverse("crm:company.create")).content.decode()
    assert sales_rep.name in html and outsider.name not in html
    data = {"name": "Acme", "type": "customer", "status": "active", "owner": sales_rep.pk}
    client.post(reverse("crm:company.create"), data)
    assert ENTITIES["company"].model.objects.get().owner == sales_rep


def test_a_sales_rep_posting_an_owner_still_owns_the_record(
    login: Any, sales_rep: Any, teammate: Any
) -> None:
    data = {"name": "Acme", "type": "customer", "status": "active", "owner": teammate.pk}
    login(sales_rep).post(reverse("crm:company.create"), data)
    assert ENTITIES["company"].model.objects.get().owner == sales_rep


# --- edit ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_edit_page_renders_within_a_query_budget_and_saves(
    key: str, login: Any, sales_rep: Any, tiers: None, stage: Any, django_assert_max_num_queries
) -> None:
    extra = {"pipeline": stage.pipeline, "stage": stage} if key == "deal" else {}
    record = record_for(key, sales_rep, custom_fields={"score": 1}, **extra)
    client = login(sales_rep)
    with django_assert_max_num_queries(16):
        response = client.get(reverse(f"crm:{key}.edit", args=[record.pk]))
    assert response.status_code == 200
    assert 'value="1"' in response.content.decode()
    response = client.post(reverse(f"crm:{key}.edit", args=[record.pk]), valid_post(key, stage))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.custom_fields == {"score": 7}


@pytest.mark.parametrize("key", KEYS)
def test_teammate_cannot_edit_a_shared_record_without_team_edit(
    key: str, login: Any, sales_rep: Any, teammate: Any
) -> None:
    record = record_for(key, teammate, shared_with_team=True)
    client = login(sales_rep)
    assert client.get(reverse(f"crm:{key}.edit", args=[record.pk])).status_code == 403
    assert client.post(reverse(f"crm:{key}.edit", args=[record.pk]), {}).status_code == 403


@pytest.mark.parametrize("key", KEYS)
def test_outsider_gets_404_on_edit_and_delete(key: str, login: Any, sales_rep: Any, outsider: Any):
    record = record_for(key, sales_rep)
    client = login(outsider)
    assert client.get(reverse(f"crm:{key}.edit", args=[record.pk])).status_code == 404
    assert client.post(reverse(f"crm:{key}.delete", args=[record.pk])).status_code == 404
    assert ENTITIES[key].model.objects.filter(pk=record.pk).exists()


def test_moving_a_deal_to_a_lost_stage_in_an_edit_closes_it(
    login: Any, sales_rep: Any, stage: Any
) -> None:
    lost = f.StageFactory(pipeline=stage.pipeline, name="Lost", is_lost=True, position=8)
    deal = f.DealFactory(owner=sales_rep, pipeline=stage.pipeline, stage=stage)
    data = valid_post("deal", stage, stage=lost.pk)
    login(sales_rep).post(reverse("crm:deal.edit", args=[deal.pk]), data)
    deal.refresh_from_db()
    assert (deal.stage, deal.status) == (lost, "lost")
    assert deal.closed_at is not None


def test_a_manager_reassigning_within_the_team_is_saved(
    login: Any, manager: Any, sales_rep: Any, teammate: Any
) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Acme")
    data = {"name": "Acme", "type": "customer", "status": "active", "owner": teammate.pk}
    login(manager).post(reverse("crm:company.edit", args=[company.pk]), data)
    company.refresh_from_db()
    assert company.owner == teammate


# --- delete ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_owner_deletes_after_a_confirm_page(key: str, login: Any, sales_rep: Any) -> None:
    record = record_for(key, sales_rep)
    client = login(sales_rep)
    url = reverse(f"crm:{key}.delete", args=[record.pk])
    assert "cannot be undone" in client.get(url).content.decode()
    response = client.post(url)
    assert response.status_code == 302
    assert response.url == reverse(f"crm:{key}.list")
    assert not ENTITIES[key].model.objects.filter(pk=record.pk).exists()


def test_a_teammate_allowed_to_edit_shared_records_still_cannot_delete_them(
    login: Any, sales_rep: Any, teammate: Any, home_team: Any
) -> None:
    home_team.sales_can_edit_shared = True
    home_team.save()
    company = f.CompanyFactory(owner=teammate, shared_with_team=True)
    client = login(sales_rep)
    assert client.get(reverse("crm:company.edit", args=[company.pk])).status_code == 200
    assert client.post(reverse("crm:company.delete", args=[company.pk])).status_code == 403
