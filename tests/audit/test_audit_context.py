"""Who and what: the middleware attributes web writes, the command wrapper attributes command
writes, and a context ends with its block."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from accounts.factories import UserFactory
from audit import context as audit_context_module
from audit import tracking
from audit.commands import command_context
from audit.context import audit_context
from audit.models import AuditEvent
from crm.models import Company, Industry

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).parent / "fixtures" / "audit_industry.json"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.urls("tests.audit.urls_audit")
def test_the_middleware_attributes_a_web_write_to_the_user_request_path_and_ip(
    client, actor, new_entries
) -> None:
    client.force_login(actor)
    response = client.post(
        "/company/", {"name": "Web Co"}, REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert response.status_code == 200
    (entry,) = new_entries(table_name="crm_company")
    assert entry.record_id == response.content.decode()
    assert entry.user_id == actor.pk
    assert entry.context == {
        "request_id": response["X-Request-ID"],
        "method": "POST",
        "path": "/company/",
        "ip": "10.1.2.3",
        "forwarded_for": "203.0.113.9",
    }


@pytest.mark.urls("tests.audit.urls_audit")
def test_a_request_that_only_reads_costs_no_query_and_never_loads_the_user(
    client, actor, django_assert_num_queries, monkeypatch
) -> None:
    applied = []
    monkeypatch.setattr(audit_context_module, "_apply", lambda conn, payload: applied.append(1))
    client.force_login(actor)
    with django_assert_num_queries(1):  # the view's COUNT: no session, no user
        client.get("/count/")
    assert applied == []  # and no set_config


@pytest.mark.urls("tests.audit.urls_audit")
def test_an_anonymous_request_is_recorded_without_a_user(client, new_entries) -> None:
    client.post("/company/", {"name": "Anon Co"}, HTTP_X_REQUEST_ID="proxy-req-12345678")
    (entry,) = new_entries(table_name="crm_company")
    assert entry.user_id is None
    assert entry.context["request_id"] == "proxy-req-12345678"  # the proxy's id, kept


@pytest.mark.urls("tests.audit.urls_audit")
def test_a_malformed_incoming_request_id_is_replaced(client, new_entries) -> None:
    response = client.post("/company/", {"name": "X"}, HTTP_X_REQUEST_ID="bad id; drop")
    (entry,) = new_entries(table_name="crm_company")
    assert entry.context["request_id"] == response["X-Request-ID"] != "bad id; drop"


@pytest.mark.urls("tests.audit.urls_audit")
def test_writes_after_a_sign_in_are_attributed_to_the_user_who_signed_in(
    client, actor, new_entries
) -> None:
    client.post("/sign-in-then-create/", {"email": actor.email})
    before, after = new_entries(table_name="crm_company")
    assert (before.snapshot["name"], before.user_id) == ("Before sign-in", None)
    assert (after.snapshot["name"], after.user_id) == ("After sign-in", actor.pk)
    # The sign-in itself (last_login) is on the record too, as the user's own change.
    (login,) = new_entries(table_name="accounts_user", action="update")
    assert login.changed_fields == ["last_login"] and login.user_id == actor.pk


def test_a_management_command_records_its_name_and_arguments(new_entries) -> None:
    call_command("loaddata", str(FIXTURE), verbosity=0)
    (entry,) = new_entries(table_name="crm_industry")
    assert entry.action == "insert" and entry.snapshot["name"] == "Loaded by fixture"
    assert entry.user_id is None
    assert entry.context["command"] == "loaddata"
    assert entry.context["args"] == [str(FIXTURE)]
    assert entry.context["options"]["database"] == "default"
    assert "verbosity" not in entry.context["options"]


def test_secret_command_options_are_masked() -> None:
    command = type("Command", (BaseCommand,), {"__module__": "x.commands.migrate_from_mongo"})()
    context = command_context(
        command, (), {"mongo_uri": "mongodb://u:hunter2@db/crm", "restart": False}
    )
    assert context["command"] == "migrate_from_mongo"
    assert context["options"] == {"mongo_uri": tracking.MASK, "restart": False}


def test_every_command_runs_through_the_wrapper() -> None:
    assert getattr(BaseCommand.execute, "audit_wrapped", False)


@pytest.mark.django_db(transaction=True)
def test_manage_py_from_the_command_line_is_attributed_too() -> None:
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{connection.settings_dict['NAME']}"
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "manage.py", "audit_prune", "--before", "2001-01-01"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    entry = AuditEvent.objects.filter(action="prune").latest("id")
    assert entry.context["command"] == "audit_prune"
    assert str(entry.context["options"]["before"]) == "2001-01-01"
    assert entry.db_role == db["USER"]


def test_a_context_ends_with_its_block(actor, acting, new_entries) -> None:
    with acting():
        inside = Industry.objects.create(name="Inside")
    outside = Industry.objects.create(name="Outside")
    by_record = {e.record_id: e for e in new_entries(table_name="crm_industry")}
    assert by_record[str(inside.pk)].user_id == actor.pk
    assert by_record[str(outside.pk)].user_id is None
    assert "application_name" in by_record[str(outside.pk)].context


def test_nested_contexts_give_way_to_the_inner_one_and_then_back(actor, new_entries) -> None:
    other = UserFactory(email="other@example.com")
    with audit_context({"user_id": actor.pk, "path": "/outer/"}):
        first = Company.objects.create(name="Outer 1")
        with audit_context({"user_id": other.pk, "command": "inner"}):
            second = Company.objects.create(name="Inner")
        third = Company.objects.create(name="Outer 2")
    by_record = {e.record_id: e for e in new_entries(table_name="crm_company")}
    assert by_record[str(first.pk)].context == {"path": "/outer/"}
    assert by_record[str(second.pk)].user_id == other.pk
    assert by_record[str(third.pk)].user_id == actor.pk


@pytest.mark.django_db(transaction=True)
def test_an_autocommit_write_carries_the_context_in_its_own_transaction(actor) -> None:
    assert connection.get_autocommit()
    with audit_context({"user_id": actor.pk, "command": "autocommit"}):
        company = Company.objects.create(name="Autocommit")
        assert Company.objects.filter(pk=company.pk).exists()  # reads are left alone
    entry = AuditEvent.objects.get(record_id=str(company.pk), action="insert")
    assert entry.user_id == actor.pk and entry.context == {"command": "autocommit"}
    # Nothing lingers for the next write on this connection.
    company.name = "Later"
    company.save()
    later = AuditEvent.objects.get(record_id=str(company.pk), action="update")
    assert later.user_id is None and "command" not in later.context
