"""Bulk actions on list pages: every selected row checked, the rest skipped and counted."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from crm.factories import (
    CompanyFactory,
    ContractFactory,
    DealFactory,
    LeadFactory,
    StageFactory,
    TaskFactory,
)
from crm.models import Company, Contract, Deal, Lead, Task
from crm.services.bulk import records_bulk_assign_owner

pytestmark = pytest.mark.django_db


def _post(client, key: str, action: str, ids: list, **data):
    return client.post(
        reverse(f"crm:{key}.bulk"),
        {"action": action, "ids": [str(i) for i in ids], **data},
    )


def _message(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_delete_skips_rows_the_user_may_not_delete_and_never_touches_invisible_ids(
    login, sales_rep, teammate, outsider
) -> None:
    mine = CompanyFactory.create_batch(3, owner=sales_rep)
    shared = CompanyFactory(owner=teammate, shared_with_team=True)  # visible, not deletable
    hidden = CompanyFactory(owner=outsider)  # invisible
    ids = [c.pk for c in mine] + [shared.pk, hidden.pk]

    response = _post(login(sales_rep), "company", "delete", ids, query="sort=name&status=active")

    assert response.status_code == 302
    assert response["Location"] == reverse("crm:company.list") + "?sort=name&status=active"
    assert set(Company.objects.values_list("pk", flat=True)) == {shared.pk, hidden.pk}
    assert _message(response) == "Deleted 3 companies; 2 skipped: you may not change them."


def test_sales_rep_cannot_reassign_even_their_own_records(login, sales_rep, teammate) -> None:
    mine = CompanyFactory(owner=sales_rep)

    response = _post(login(sales_rep), "company", "assign_owner", [mine.pk], owner=teammate.pk)

    mine.refresh_from_db()
    assert mine.owner == sales_rep
    assert "Select a valid choice" in _message(response)  # no owners are offered to a rep


def test_manager_reassigns_team_records_and_skips_other_teams(
    login, manager, sales_rep, teammate, outsider
) -> None:
    team_rows = DealFactory.create_batch(2, owner=sales_rep)
    foreign = DealFactory(owner=outsider)

    response = _post(
        login(manager),
        "deal",
        "assign_owner",
        [*[d.pk for d in team_rows], foreign.pk],
        owner=teammate.pk,
    )

    assert set(Deal.objects.filter(owner=teammate).values_list("pk", flat=True)) == {
        d.pk for d in team_rows
    }
    assert Deal.objects.get(pk=foreign.pk).owner == outsider
    assert _message(response) == "Reassigned 2 deals; 1 skipped: you may not change them."


def test_assign_owner_service_refuses_owners_outside_the_managers_team(
    manager, sales_rep, outsider
) -> None:
    company = CompanyFactory(owner=sales_rep)

    result = records_bulk_assign_owner(
        user=manager, model=Company, ids=[company.pk], owner=outsider
    )

    assert (result.changed, result.forbidden) == (0, 1)
    company.refresh_from_db()
    assert company.owner == sales_rep


def test_set_status_on_tasks_goes_through_the_task_service(login, sales_rep, outsider) -> None:
    mine = TaskFactory.create_batch(2, owner=sales_rep, assignee=sales_rep)
    theirs = TaskFactory(owner=outsider, assignee=outsider)

    response = _post(
        login(sales_rep), "task", "set_status", [t.pk for t in [*mine, theirs]], status="done"
    )

    for task in mine:
        task.refresh_from_db()
        assert task.status == "done"
        assert task.completed_at is not None  # the service's rule
    assert Task.objects.get(pk=theirs.pk).status == "open"
    assert _message(response) == "Updated 2 tasks; 1 skipped: you may not change them."


def test_set_status_on_contracts_is_direct_and_checked(login, sales_rep, teammate) -> None:
    mine = ContractFactory(owner=sales_rep)
    shared = ContractFactory(owner=teammate, shared_with_team=True)

    _post(login(sales_rep), "contract", "set_status", [mine.pk, shared.pk], status="signed")

    assert Contract.objects.get(pk=mine.pk).status == "signed"
    assert Contract.objects.get(pk=shared.pk).status == "not_started"


def test_lead_status_never_converts_and_skips_converted_leads(login, sales_rep) -> None:
    from django.utils import timezone

    open_lead = LeadFactory(owner=sales_rep)
    converted = LeadFactory(owner=sales_rep, status="converted", converted_at=timezone.now())
    client = login(sales_rep)

    response = _post(client, "lead", "set_status", [open_lead.pk], status="converted")
    assert "Select a valid choice" in _message(response)
    assert Lead.objects.get(pk=open_lead.pk).status == "new"

    response = _post(client, "lead", "set_status", [open_lead.pk, converted.pk], status="lost")
    assert Lead.objects.get(pk=open_lead.pk).status == "lost"
    assert Lead.objects.get(pk=converted.pk).status == "converted"
    assert "1 skipped: converted leads keep their status" in _message(response)


def test_set_stage_moves_deals_of_that_pipeline_and_closes_won_ones(login, sales_rep) -> None:
    deal = DealFactory(owner=sales_rep)
    other_pipeline = DealFactory(owner=sales_rep)
    won = StageFactory(pipeline=deal.pipeline, name="Won", is_won=True)

    response = _post(
        login(sales_rep), "deal", "set_stage", [deal.pk, other_pipeline.pk], stage=won.pk
    )

    deal.refresh_from_db()
    assert (deal.stage_id, deal.status) == (won.pk, "won")
    assert deal.closed_at is not None
    assert Deal.objects.get(pk=other_pipeline.pk).stage_id != won.pk
    assert _message(response) == "Moved 1 deal; 1 skipped: that stage is in another pipeline."


def test_add_tag_appends_once_in_any_case_and_skips_read_only_rows(
    login, sales_rep, teammate
) -> None:
    tagged = CompanyFactory(owner=sales_rep, tags=["VIP"])
    plain = CompanyFactory(owner=sales_rep, tags=[])
    shared = CompanyFactory(owner=teammate, shared_with_team=True, tags=[])

    response = _post(
        login(sales_rep), "company", "add_tag", [tagged.pk, plain.pk, shared.pk], tag="  vip "
    )

    assert Company.objects.get(pk=tagged.pk).tags == ["VIP"]  # one tag, in any letter case
    assert Company.objects.get(pk=plain.pk).tags == ["vip"]
    assert Company.objects.get(pk=shared.pk).tags == []
    assert _message(response) == (
        "Tagged 1 company; 1 skipped: you may not change them; "
        "1 skipped: they have that tag already."
    )


def test_team_setting_lets_reps_change_shared_rows_but_not_delete_them(
    login, sales_rep, teammate, home_team
) -> None:
    home_team.sales_can_edit_shared = True
    home_team.save()
    shared = CompanyFactory(owner=teammate, shared_with_team=True, tags=[])
    client = login(sales_rep)

    _post(client, "company", "add_tag", [shared.pk], tag="mine-too")
    _post(client, "company", "delete", [shared.pk])

    assert Company.objects.get(pk=shared.pk).tags == ["mine-too"]


@pytest.mark.parametrize(
    "data",
    [
        {"action": "drop_table", "ids": ["x"]},
        {"action": "delete", "ids": ["not-a-uuid", "'; DROP TABLE crm_company; --"]},
        {"action": "delete"},
        {"action": "set_stage", "ids": [str(uuid.uuid4())]},  # no stage actions on companies
        {"action": "add_tag", "ids": [str(uuid.uuid4())], "tag": ""},
        {"action": "set_status", "ids": [str(uuid.uuid4())], "status": "bogus"},
    ],
)
def test_bad_bulk_posts_change_nothing_and_say_why(login, sales_rep, data) -> None:
    company = CompanyFactory(owner=sales_rep)

    response = login(sales_rep).post(reverse("crm:company.bulk"), data)

    assert response.status_code == 302
    assert Company.objects.filter(pk=company.pk).exists()
    assert _message(response)


def test_bulk_needs_post_and_csrf(sales_rep) -> None:
    from django.test import Client

    company = CompanyFactory(owner=sales_rep)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(sales_rep)
    url = reverse("crm:company.bulk")

    assert strict.get(url).status_code == 405
    assert strict.post(url, {"action": "delete", "ids": [company.pk]}).status_code == 403
    assert Company.objects.filter(pk=company.pk).exists()


def test_redirect_query_cannot_point_elsewhere(login, sales_rep) -> None:
    company = CompanyFactory(owner=sales_rep)

    response = _post(
        login(sales_rep), "company", "delete", [company.pk], query="//evil.example/?x=1"
    )

    assert response["Location"].startswith(reverse("crm:company.list") + "?")
