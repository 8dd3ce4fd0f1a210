"""Production runs the web app as a role that does not own the tables (docs/audit.md). That role
writes CRM rows, which are audited, and can neither switch the auditing off nor touch the log.

The role gets exactly the privileges of audit/sql/grant_app_role.sql, the file docs/audit.md
prints; the tables' owner in this test cluster is the superuser, like minicrm_owner in prod."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from audit.models import AuditEvent
from crm.models import Company
from tests.db_role_helpers import insert_company, refusal

ROOT = Path(__file__).resolve().parents[2]
GRANTS = ROOT / "audit" / "sql" / "grant_app_role.sql"
ROLE = "minicrm_app_test"

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_documented_grants_are_the_tested_ones() -> None:
    assert GRANTS.read_text().strip() in (ROOT / "docs" / "audit.md").read_text()


@pytest.fixture
def app(transactional_db: None) -> Iterator[psycopg.Connection]:
    """A connection to the test database as a non-owner role with the app's privileges."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {ROLE} LOGIN")
        cursor.execute(GRANTS.read_text().replace("minicrm_app", ROLE))
    db = connection.settings_dict
    url = f"postgres://{ROLE}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    try:
        with psycopg.connect(url, autocommit=True, application_name="minicrm-web") as conn:
            yield conn
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {ROLE}")
            cursor.execute(f"DROP ROLE {ROLE}")


def test_the_app_role_writes_crm_rows_and_every_write_is_audited(app) -> None:
    context = json.dumps({"user_id": None, "request_id": "r-1", "path": "/companies/"})
    with app.transaction():
        app.execute("SELECT set_config('minicrm.audit_context', %s, true)", (context,))
        company_id = insert_company(app, "Role Co")
        app.execute("UPDATE crm_company SET name = 'Role Co 2' WHERE id = %s", (company_id,))
    app.execute("DELETE FROM crm_company WHERE id = %s", (company_id,))

    entries = list(AuditEvent.objects.filter(record_id=company_id).order_by("id"))
    assert [e.action for e in entries] == ["insert", "update", "delete"]
    assert {e.db_role for e in entries} == {ROLE}
    assert entries[0].context == {"request_id": "r-1", "path": "/companies/"}
    assert entries[2].context == {"application_name": "minicrm-web"}
    # And it reads the log, for the history pages.
    assert app.execute("SELECT count(*) FROM audit_event WHERE record_id = %s", (company_id,))


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE crm_company DISABLE TRIGGER audit_insert",
        "ALTER TABLE crm_company DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_insert ON crm_company",
        "CREATE OR REPLACE FUNCTION public.audit_log_crm_company() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
        "SET session_replication_role = replica",
        "ALTER TABLE audit_event DISABLE TRIGGER audit_event_refuse_delete",
    ],
)
def test_the_app_role_cannot_switch_auditing_off(app, statement: str) -> None:
    message = refusal(app, statement)
    assert "must be owner" in message or "permission denied" in message


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET user_id = NULL",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
        "INSERT INTO audit_event (action, table_name) VALUES ('insert', 'crm_company')",
        "SELECT public.audit_prune(now() - interval '1 day')",
    ],
)
def test_the_app_role_cannot_touch_audit_entries(app, statement: str) -> None:
    Company.objects.create(name="Evidence")
    assert "permission denied" in refusal(app, statement)


def test_setting_the_bulk_switch_by_hand_silences_nothing(app) -> None:
    with app.transaction():
        batch = app.execute("SELECT public.audit_bulk_begin('a real batch', '{}')").fetchone()[0]
    with app.transaction():
        app.execute("SELECT set_config('minicrm.audit_bulk', %s, true)", (str(batch),))
        company_id = insert_company(app, "Sneaky")
    assert AuditEvent.objects.filter(record_id=company_id, action="insert").exists()


def test_the_bulk_opt_out_always_leaves_its_summary_entry(app) -> None:
    with app.transaction():
        batch = app.execute(
            "SELECT public.audit_bulk_begin('import', '{\"count\": 1}')"
        ).fetchone()[0]
        company_id = insert_company(app, "Imported")
    assert not AuditEvent.objects.filter(record_id=company_id).exists()
    summary = AuditEvent.objects.get(pk=batch)
    assert summary.action == "bulk" and summary.db_role == ROLE
    assert summary.snapshot == {"description": "import", "count": 1}


def test_a_temporary_table_cannot_capture_the_entries(app) -> None:
    with app.transaction():
        app.execute("CREATE TEMP TABLE audit_event (LIKE public.audit_event)")
        company_id = insert_company(app, "Hijack")
        assert app.execute("SELECT count(*) FROM pg_temp.audit_event").fetchone() == (0,)
    assert AuditEvent.objects.filter(record_id=company_id, action="insert").exists()
