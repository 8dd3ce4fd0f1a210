from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from accounts.models import User
from crm.models import Company, Contact, Deal, Lead, Note, Pipeline, Task


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_builds_a_small_crm_and_prints_the_admin_login() -> None:
    out = _seed(
        "--companies", "8", "--contacts", "20", "--leads", "5", "--deals", "10", "--seed", "7"
    )
    assert "admin@minicrm.local / minicrm-demo" in out
    assert Company.objects.count() == 8
    assert Contact.objects.count() == 20
    assert Lead.objects.count() == 5
    assert Deal.objects.count() == 10
    assert Note.objects.exists() and Task.objects.exists()
    admin = User.objects.get(email="admin@minicrm.local")
    assert admin.is_superuser and admin.check_password("minicrm-demo")
    teams = set(User.objects.exclude(team=None).values_list("team__name", flat=True))
    assert teams == {"North", "South"}
    # Deals sit on the default pipeline, with a status that matches their stage.
    pipeline = Pipeline.objects.get(is_default=True)
    for deal in Deal.objects.select_related("stage"):
        assert deal.pipeline_id == pipeline.pk
        expected = "won" if deal.stage.is_won else "lost" if deal.stage.is_lost else "open"
        assert deal.status == expected


@pytest.mark.django_db
def test_seed_demo_runs_twice_reusing_users_and_pipeline() -> None:
    _seed("--companies", "3", "--contacts", "4", "--leads", "1", "--deals", "2")
    users = User.objects.count()
    _seed("--companies", "3", "--contacts", "4", "--leads", "1", "--deals", "2")
    assert User.objects.count() == users
    assert Pipeline.objects.count() == 1
    assert Company.objects.count() == 6


@pytest.mark.django_db
def test_seed_demo_if_empty_leaves_existing_data_alone() -> None:
    _seed("--companies", "2", "--contacts", "2", "--leads", "0", "--deals", "1")
    out = _seed("--if-empty")
    assert "nothing loaded" in out
    assert Company.objects.count() == 2


@pytest.mark.django_db
def test_seed_demo_with_zero_companies_still_works() -> None:
    _seed("--companies", "0", "--contacts", "3", "--leads", "2", "--deals", "5")
    assert Company.objects.count() == 0
    assert Contact.objects.count() == 3
    assert Deal.objects.count() == 0


@pytest.mark.django_db
def test_seed_demo_refuses_negative_counts_and_production() -> None:
    with pytest.raises(CommandError, match="--contacts must be zero or more"):
        _seed("--contacts", "-1")
    with override_settings(PRODUCTION=True), pytest.raises(CommandError, match="production"):
        _seed()
