"""seed_scale at a small size: proportions, invariants, indexes back, audit, search, refusals;
contracts, documents, project boards and the big company in tests/crm/test_seed_scale_work.py.

One load is shared by the module's tests (a class-scoped fixture would still reload per test
under pytest-django's per-test rollback, so the checks are grouped in a few tests instead).
"""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count, F, Sum
from django.test import override_settings

from accounts.models import Team, User
from audit.models import AuditEvent
from crm.models import (
    Board,
    Company,
    Contact,
    Contract,
    CustomFieldDefinition,
    Deal,
    DealStageTotal,
    Document,
    Lead,
    Note,
    Pipeline,
    Section,
    Task,
)
from crm.scale import SCALE_DOMAIN, SCALE_PASSWORD
from crm.selectors.search import global_search

CONTACTS = 2000
CRM_INDEXES_SQL = (
    "SELECT tablename, indexname, indexdef FROM pg_indexes "
    "WHERE schemaname = 'public' AND tablename LIKE 'crm\\_%' ORDER BY 1, 2"
)


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_scale", *args, stdout=out)
    return out.getvalue()


# PostgreSQL prints a rebuilt partial index's `status IN (...)` with its casts in another place
# (ARRAY['won'::varchar]::text[] vs ARRAY['won'::varchar::text]): the same index, other text.
_CASTS = re.compile(r"::[a-z ]+(\[\])?|[()]")


def _crm_indexes() -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(CRM_INDEXES_SQL)
        return [(table, name, _CASTS.sub("", sql)) for table, name, sql in cursor.fetchall()]


@pytest.fixture
def seeded(db: None) -> tuple[str, list[tuple[str, str, str]]]:
    """(command output, crm indexes before the load)."""
    before = _crm_indexes()
    return _seed("--contacts", str(CONTACTS), "--seed", "7", "--history", "100"), before


def test_seed_scale_loads_proportional_tables_and_prints_progress(seeded: tuple) -> None:
    out, _ = seeded
    # +1: the known John Smith, created through the ORM after the load.
    assert Contact.objects.count() == CONTACTS + 1
    assert Company.objects.count() == CONTACTS // 10 + 1  # + the big company
    assert Lead.objects.count() == CONTACTS // 5
    assert Deal.objects.count() == CONTACTS // 5
    assert Note.objects.count() == CONTACTS
    assert Contract.objects.count() == CONTACTS // 20
    assert Document.objects.count() == CONTACTS // 10
    # One board per team at this size, 4 sections each, at least 5 cards per section.
    assert Board.objects.count() == 4
    assert Section.objects.count() == 16
    assert Task.objects.filter(section=None).count() == CONTACTS * 3 // 10
    assert Task.objects.exclude(section=None).count() == 80
    for table in ("crm_contact", "crm_note", "crm_task", "crm_deal_contacts", "crm_contract"):
        assert table in out
    for table in ("crm_document_companies", "crm_board", "crm_section", "crm_task (boards)"):
        assert table in out
    assert "rows/s" in out and "indexes rebuilt" in out
    assert f"admin@{SCALE_DOMAIN} / {SCALE_PASSWORD}" in out
    # Shared with the team, watched, custom fields: each on a share of the rows, not all.
    assert 0 < Contact.objects.filter(shared_with_team=True).count() < CONTACTS
    assert 0 < Contact.objects.exclude(watchers=None).count() < CONTACTS
    with_custom = Contact.objects.exclude(custom_fields={}).count()
    assert 0.2 * CONTACTS < with_custom < 0.4 * CONTACTS
    assert CustomFieldDefinition.objects.filter(entity="contact").count() == 3
    # Emails and domains look real: a company's domain is in its email and its contacts'.
    company = Company.objects.exclude(contacts=None).first()
    assert company.email == f"info@{company.domain}"
    assert company.contacts.first().email.endswith(f"@{company.domain}")


def test_seed_scale_users_teams_and_one_password_hash(seeded: tuple) -> None:
    users = User.objects.filter(email__endswith=f"@{SCALE_DOMAIN}")
    assert users.count() == 20
    assert users.filter(role="admin").get().email == f"admin@{SCALE_DOMAIN}"
    assert users.filter(role="manager").count() == 4
    assert Team.objects.filter(members__in=users).distinct().count() == 4
    assert set(users.exclude(role="admin").values_list("team_id", flat=True)) == set(
        Team.objects.filter(name__startswith="Scale ").values_list("pk", flat=True)
    )
    assert users.values("password").distinct().count() == 1
    assert users.get(email=f"rep07@{SCALE_DOMAIN}").check_password(SCALE_PASSWORD)


def _assert_stage_totals_agree_with_the_deals() -> None:
    # The triggers on crm_deal keep the counters during the bulk load as for any write.
    grouped = (
        Deal.objects.filter(status="open")
        .values("stage_id", "owner_id", "shared_with_team", "currency")
        .annotate(n=Count("pk"), total=Sum("amount"))
    )
    expected = {
        (r["stage_id"], r["owner_id"], r["shared_with_team"], r["currency"]): (r["n"], r["total"])
        for r in grouped
    }
    counters = {
        (t.stage_id, t.owner_id, t.shared_with_team, t.currency): (t.deal_count, t.amount_total)
        for t in DealStageTotal.objects.all()
    }
    assert expected and counters == expected


def test_seed_scale_rows_keep_the_rules_the_constraints_state(seeded: tuple) -> None:
    assert Pipeline.objects.count() == 3
    assert {p.deals.count() > 0 for p in Pipeline.objects.all()} == {True}
    assert not Deal.objects.exclude(stage__pipeline=F("pipeline")).exists()
    for deal in Deal.objects.select_related("stage")[:200]:
        expected = "won" if deal.stage.is_won else "lost" if deal.stage.is_lost else "open"
        assert deal.status == expected
        assert (deal.closed_at is None) == (expected == "open")
    parents = ("company", "contact", "lead", "deal")
    for note in Note.objects.all()[:500]:
        assert sum(getattr(note, f"{p}_id") is not None for p in parents) == 1
    kinds = Note.objects.aggregate(**{p: Count(f"{p}_id") for p in parents})
    assert all(kinds.values())
    assert not Task.objects.exclude(status="done").exclude(completed_at=None).exists()
    assert not Lead.objects.exclude(status="converted").exclude(converted_at=None).exists()
    assert not Lead.objects.filter(status="converted", converted_at=None).exists()
    assert Lead.objects.filter(status="converted").exclude(converted_contact=None).exists()
    assert not Contact.objects.filter(updated_at__lt=F("created_at")).exists()
    _assert_stage_totals_agree_with_the_deals()


def test_seed_scale_rebuilds_every_index_and_audits_in_batches(seeded: tuple) -> None:
    _, before = seeded
    assert _crm_indexes() == before
    summaries = AuditEvent.objects.filter(action="bulk")
    tables = {e.snapshot["table"] for e in summaries}
    assert {"crm_contact", "crm_company", "crm_note", "crm_task", "crm_deal_watchers"} <= tables
    assert {"crm_contract", "crm_document", "crm_document_contacts", "crm_board"} <= tables
    assert {"crm_section", "crm_board_watchers", "crm_board_shared_with"} <= tables
    assert summaries.filter(snapshot__description="seed_scale: crm_contact").exists()
    # No row entries for the bulk rows: the sample's edits and the ORM-made rows only.
    for table in ("crm_note", "crm_document", "crm_board", "crm_section", "crm_task"):
        assert AuditEvent.objects.filter(table_name=table).count() == 0
    # The sample's contracts: a fifth of --history.
    assert AuditEvent.objects.filter(table_name="crm_contract", action="update").count() == 20
    contact_entries = AuditEvent.objects.filter(table_name="crm_contact")
    assert contact_entries.filter(action="update").count() == 200  # two edits of 100
    sample = contact_entries.filter(action="update").first()
    assert contact_entries.filter(record_id=sample.record_id).count() == 2
    assert contact_entries.filter(action="insert").count() == 1  # John Smith
    assert sample.context["command"] == "seed_scale"


def test_seed_scale_search_and_visibility(seeded: tuple) -> None:
    admin = User.objects.get(email=f"admin@{SCALE_DOMAIN}")
    rep = User.objects.get(email=f"rep01@{SCALE_DOMAIN}")
    for user in (admin, rep):
        results = global_search(user=user, query="John Smith")
        names = [hit.title for group in results.groups for hit in group.hits]
        assert "John Smith" in names
    visible = set(Contact.objects.visible_to(rep).values_list("pk", flat=True))
    assert 0 < len(visible) < Contact.objects.count()
    assert visible <= set(Contact.objects.values_list("pk", flat=True))
    manager = User.objects.get(email=f"manager01@{SCALE_DOMAIN}")
    assert rep.team_id == manager.team_id
    assert visible <= set(Contact.objects.visible_to(manager).values_list("pk", flat=True)) | set(
        Contact.objects.filter(watchers=rep).values_list("pk", flat=True)
    )


class _Undo(Exception):
    pass


def _contacts_of_a_load(seed: str) -> list[tuple]:
    """The generated contacts of one load, rolled back afterwards."""
    rows: list[tuple] = []
    with pytest.raises(_Undo), transaction.atomic():
        _seed("--contacts", "300", "--seed", seed, "--history", "0")
        generated = Contact.objects.exclude(email="john.smith@example.com").order_by("pk")
        rows = list(generated.values_list("pk", "first_name", "last_name", "email", "company_id"))
        raise _Undo
    return rows


@pytest.mark.django_db
def test_seed_scale_is_repeatable_with_a_seed() -> None:
    first = _contacts_of_a_load("3")
    assert len(first) == 300
    assert _contacts_of_a_load("3") == first
    assert _contacts_of_a_load("4") != first


@pytest.mark.django_db
def test_seed_scale_refuses_production_a_non_empty_crm_and_bad_sizes() -> None:
    with override_settings(PRODUCTION=True), pytest.raises(CommandError, match="production"):
        _seed("--contacts", "10")
    with pytest.raises(CommandError, match="--contacts must be 1 or more"):
        _seed("--contacts", "0")
    Company.objects.create(name="Real customer")
    with pytest.raises(CommandError, match=r"empty CRM only.*companies"):
        _seed("--contacts", "10")
    assert not User.objects.filter(email__endswith=f"@{SCALE_DOMAIN}").exists()
