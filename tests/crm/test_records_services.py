"""The record services re-check what the forms limit: crm.permissions is the authority, so a
caller that skips the form (a script, another view) meets the same rules."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from crm import factories as f
from crm.models import Company, Deal
from crm.services import records as services

pytestmark = pytest.mark.django_db


def test_a_sales_rep_cannot_create_a_record_for_someone_else(
    sales_rep: Any, teammate: Any
) -> None:
    with pytest.raises(PermissionDenied):
        services.company_create(user=sales_rep, data={"name": "Acme", "owner": teammate})
    assert not Company.objects.exists()


def test_a_manager_cannot_give_a_record_to_another_team(manager: Any, outsider: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.company_create(user=manager, data={"name": "Acme", "owner": outsider})


def test_update_refuses_a_read_only_user(sales_rep: Any, teammate: Any) -> None:
    company = f.CompanyFactory(owner=teammate, shared_with_team=True, name="Acme")
    with pytest.raises(PermissionDenied):
        services.company_update(user=sales_rep, company=company, data={"name": "Mine"})
    company.refresh_from_db()
    assert company.name == "Acme"


def test_update_checks_the_stored_owner_not_the_callers_instance(
    sales_rep: Any, teammate: Any
) -> None:
    company = f.CompanyFactory(owner=teammate)
    company.owner = sales_rep  # what a bound form does to its instance in memory
    with pytest.raises(PermissionDenied):
        services.company_update(user=sales_rep, company=company, data={"name": "Mine"})


def test_a_sales_rep_cannot_reassign_their_own_record(sales_rep: Any, teammate: Any) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    with pytest.raises(PermissionDenied):
        services.company_update(user=sales_rep, company=company, data={"owner": teammate})


def test_linking_an_invisible_company_is_a_field_error(sales_rep: Any, outsider: Any) -> None:
    hidden = f.CompanyFactory(owner=outsider)
    with pytest.raises(ValidationError) as exc:
        services.contact_create(user=sales_rep, data={"last_name": "Doe", "company": hidden})
    assert "company" in exc.value.message_dict


def test_a_task_on_a_record_one_may_only_see_is_refused(sales_rep: Any, teammate: Any) -> None:
    shared = f.CompanyFactory(owner=teammate, shared_with_team=True)
    with pytest.raises(ValidationError) as exc:
        services.task_create(user=sales_rep, data={"title": "Call", "company": shared})
    assert exc.value.message_dict["company"] == ["Choose a record you may change."]


def test_a_document_linked_to_a_read_only_record_is_refused(sales_rep: Any, teammate: Any) -> None:
    shared = f.DealFactory(owner=teammate, shared_with_team=True)
    with pytest.raises(PermissionDenied):
        services.document_create(
            user=sales_rep,
            data={"name": "Offer", "url": "https://files.example/offer.pdf"},
            links={"deals": [shared]},
        )


def test_document_create_sniffs_an_upload_whatever_the_caller(
    sales_rep: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    html = SimpleUploadedFile("offer.pdf", b"<html><script></script></html>", "application/pdf")
    with pytest.raises(ValidationError) as exc:
        services.document_create(user=sales_rep, data={"name": "Offer", "file": html})
    assert "file" in exc.value.message_dict


def test_a_deal_moved_to_another_pipeline_takes_its_stage_status(sales_rep: Any) -> None:
    deal = f.DealFactory(owner=sales_rep)
    won = f.StageFactory(is_won=True)
    updated = services.deal_update(
        user=sales_rep, deal=deal, data={"pipeline": won.pipeline, "stage": won}
    )
    assert (updated.pipeline, updated.stage, updated.status) == (won.pipeline, won, "won")
    assert Deal.objects.get(pk=deal.pk).closed_at is not None


def test_reopening_a_won_deal_clears_closed_at(sales_rep: Any) -> None:
    pipeline = f.PipelineFactory()
    won = f.StageFactory(pipeline=pipeline, is_won=True, position=1)
    open_stage = f.StageFactory(pipeline=pipeline, position=0)
    deal = services.deal_create(
        user=sales_rep, data={"name": "D", "pipeline": pipeline, "stage": won}
    )
    assert deal.status == "won"
    services.deal_update(user=sales_rep, deal=deal, data={"stage": open_stage})
    deal.refresh_from_db()
    assert (deal.status, deal.closed_at) == ("open", None)


def test_the_assignee_may_update_a_task_but_not_delete_it(sales_rep: Any, teammate: Any) -> None:
    task = f.TaskFactory(owner=teammate, assignee=sales_rep)
    services.task_update(user=sales_rep, task=task, data={"status": "done"})
    task.refresh_from_db()
    assert task.completed_at is not None
    with pytest.raises(PermissionDenied):
        services.task_delete(user=sales_rep, task=task)
