"""CSV export, continued from test_export.py: what never is in the file (other teams' rows,
names of hidden records), the filter and sort it follows, its query budget and batching, the
audit entry, bad input, and the one snapshot it reads."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from crm import exports
from crm import factories as f
from crm.models import CustomFieldDefinition
from tests.crm.export_helpers import (
    FACTORIES,
    HEADERS,
    KEYS,
    _export,
    _export_entries,
    _records,
    _rows,
)

pytestmark = pytest.mark.django_db


# --- visibility -------------------------------------------------------------------------------


def test_sales_rep_never_gets_another_teams_rows_nor_hidden_company_names(
    login, sales_rep, teammate, outsider
) -> None:
    hidden = f.CompanyFactory(owner=outsider, name="Secret Holdings")
    mine = f.ContactFactory(owner=sales_rep, last_name="Mine", company=hidden)
    shared = f.ContactFactory(owner=teammate, last_name="Shared", shared_with_team=True)
    f.ContactFactory(owner=teammate, last_name="Private")
    f.ContactFactory(owner=outsider, last_name="Theirs", company=hidden)

    response = _export(login(sales_rep), sort="name")
    body = b"".join(response.streaming_content).decode()

    assert "Secret Holdings" not in body and "Theirs" not in body and "Private" not in body
    records = list(csv.DictReader(io.StringIO(body[1:])))
    assert [r["ID"] for r in records] == [str(mine.pk), str(shared.pk)]
    assert records[0]["Company"] == ""


def test_manager_gets_the_teams_rows_and_admin_every_name(
    login, manager, sales_rep, teammate, outsider, admin_user
) -> None:
    hidden = f.CompanyFactory(owner=outsider, name="Secret Holdings")
    f.ContactFactory(owner=sales_rep, last_name="Rep", company=hidden)
    f.ContactFactory(owner=teammate, last_name="Mate")
    f.ContactFactory(owner=outsider, last_name="Out")

    managed = _records(_export(login(manager), sort="name"))
    assert [r["Name"].split()[-1] for r in managed] == ["Mate", "Rep"]
    assert managed[1]["Company"] == ""

    everything = _records(_export(login(admin_user), sort="name"))
    assert [r["Name"].split()[-1] for r in everything] == ["Mate", "Out", "Rep"]
    assert everything[2]["Company"] == "Secret Holdings"


def test_task_about_and_deal_company_stay_blank_when_hidden(login, sales_rep, outsider) -> None:
    hidden = f.CompanyFactory(owner=outsider, name="Secret Holdings")
    f.TaskFactory(owner=sales_rep, title="Call", company=hidden)
    f.DealFactory(owner=sales_rep, company=hidden, name="Quiet deal")
    client = login(sales_rep)

    (task,) = _records(_export(client, "task"))
    (deal,) = _records(_export(client, "deal"))

    assert task["About"] == "" and deal["Company"] == ""
    assert task["Title"] == "Call" and deal["Name"] == "Quiet deal"


# --- the list's filter and sort ---------------------------------------------------------------


def test_export_follows_the_lists_filters_sort_and_parent(login, sales_rep, teammate) -> None:
    acme = f.CompanyFactory(owner=sales_rep, name="Acme")
    f.ContactFactory(owner=sales_rep, last_name="Beta", company=acme, tags=["vip"])
    f.ContactFactory(owner=sales_rep, last_name="Alpha", company=acme, tags=["vip"])
    f.ContactFactory(owner=sales_rep, last_name="Gamma", tags=["vip"])
    f.ContactFactory(owner=sales_rep, last_name="Delta", company=acme)
    client = login(sales_rep)

    def last_names(**params: Any) -> list[str]:
        return [r["Name"].split()[-1] for r in _records(_export(client, **params))]

    assert last_names(tag="vip", sort="name") == ["Alpha", "Beta", "Gamma"]
    assert last_names(tag="vip", sort="-name") == ["Gamma", "Beta", "Alpha"]
    assert last_names(company=str(acme.pk), sort="name") == ["Alpha", "Beta", "Delta"]
    assert last_names(q="gamma") == ["Gamma"]
    assert last_names(owner=str(teammate.pk)) == []


@pytest.mark.parametrize("server_side_cursors", [True, False])
def test_batches_follow_the_sort_across_boundaries_without_gaps_or_repeats(
    login, sales_rep, monkeypatch, server_side_cursors
) -> None:
    monkeypatch.setattr(exports, "BATCH_SIZE", 4)
    disabled = not server_side_cursors
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", disabled)
    for i in range(11):
        # Equal sort values straddle the batch boundaries: the primary key breaks the ties.
        f.ContactFactory(owner=sales_rep, last_name=f"Name{i % 3}")

    response = _export(login(sales_rep), sort="name")
    chunks = list(response.streaming_content)
    records = list(csv.DictReader(io.StringIO(b"".join(chunks).decode()[1:])))

    assert len(chunks) == 3  # 4 + 4 + 3 rows, the header with the first
    assert len({r["ID"] for r in records}) == 11
    names = [r["Name"].split()[-1] for r in records]
    assert names == sorted(names)


# --- cost -------------------------------------------------------------------------------------

BUDGETS = {
    # Session and user; custom field definitions and filter options; the ids the visibility
    # rules read (team, watched records); the audit entry (in a savepoint here); the snapshot
    # (a savepoint here, SET TRANSACTION in production); the first batch.
    "company": 13,
    "contact": 13,
    "lead": 12,
    "deal": 16,
    "contract": 12,
    "task": 17,
    "document": 18,
}


def _count(client: Any, key: str, rows: int) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert len(_rows(_export(client, key))) == rows + 1
    return len(ctx.captured_queries)


@pytest.mark.parametrize("key", KEYS)
def test_query_count_is_the_same_for_3_30_and_60_rows(
    login, manager, sales_rep, key, monkeypatch, django_assert_max_num_queries
) -> None:
    monkeypatch.setattr(exports, "BATCH_SIZE", 10)
    client = login(manager)
    factory = FACTORIES[key]
    factory.create_batch(3, owner=sales_rep)
    with django_assert_max_num_queries(BUDGETS[key]):
        few = _count(client, key, 3)

    # Past the first batch, the rest is one query read through a server-side cursor, ten
    # rows a fetch, however many rows there are.
    factory.create_batch(27, owner=sales_rep)
    with django_assert_max_num_queries(BUDGETS[key] + 1):
        assert _count(client, key, 30) == few + 1
    factory.create_batch(30, owner=sales_rep)
    assert _count(client, key, 60) == few + 1


@pytest.mark.parametrize("key", ["contact", "task"])
def test_without_server_side_cursors_each_batch_is_one_keyset_query(
    login, manager, sales_rep, key, monkeypatch
) -> None:
    monkeypatch.setattr(exports, "BATCH_SIZE", 10)
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    client = login(manager)
    FACTORIES[key].create_batch(3, owner=sales_rep)
    few = _count(client, key, 3)
    FACTORIES[key].create_batch(27, owner=sales_rep)
    # Three full batches of ten, and the empty one that ends the export: no query per row.
    assert _count(client, key, 30) == few + 3


# --- audit --------------------------------------------------------------------------------------


def test_every_export_is_recorded_with_who_which_entity_and_filter(
    login, sales_rep, audit_mark
) -> None:
    f.ContactFactory(owner=sales_rep)

    response = _export(login(sales_rep), q="acme", tag="vip", sort="name", after="x")

    (entry,) = _export_entries(audit_mark)
    assert entry.user_id == sales_rep.pk
    assert entry.table_name == "crm_contact" and entry.record_id is None
    assert entry.context["path"] == "/contacts/export/" and entry.context["method"] == "GET"
    assert entry.snapshot["entity"] == "contact"
    assert entry.snapshot["filters"] == {"q": "acme", "tag": "vip", "sort": "name"}
    assert entry.snapshot["query"] == "q=acme&tag=vip&sort=name"  # no page position
    assert entry.snapshot["sort"] == "name"
    assert entry.snapshot["columns"][:2] == ["ID", "Name"]
    assert entry.get_action_display() == "Exported"
    assert response.status_code == 200


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"created_from": "yesterday"},
        {"sort": "password"},
        {"company": "not-a-uuid"},
        {"owner": "00000000-0000-0000-0000-000000000000"},
        {"cf_number__min": "1e999999"},
        {"per_page": "7"},
    ],
)
def test_a_refused_filter_exports_nothing_and_sends_back_to_the_list_form(
    login, sales_rep, definitions, audit_mark, params
) -> None:
    f.ContactFactory(owner=sales_rep)
    client = login(sales_rep)

    response = _export(client, **params)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("crm:contact.list") + "?")
    page = client.get(response["Location"])
    assert page.status_code == 200 and page.context["form"].errors
    assert "Nothing was exported" in page.content.decode()
    assert _export_entries(audit_mark) == []


def test_unknown_parameters_and_stale_cursors_are_ignored(login, sales_rep) -> None:
    f.ContactFactory(owner=sales_rep)
    records = _records(_export(login(sales_rep), nonsense="1", after="forged", before="x"))
    assert len(records) == 1


def test_an_empty_export_is_the_header_row(login, sales_rep) -> None:
    assert _rows(_export(login(sales_rep), q="nobody")) == [HEADERS["contact"]]


def test_anonymous_is_sent_to_sign_in_and_post_is_refused(client, login, sales_rep) -> None:
    response = _export(client)
    assert response.status_code == 302 and "login" in response["Location"]
    assert login(sales_rep).post(reverse("crm:contact.export")).status_code == 405


def test_list_page_links_to_the_export_of_the_current_view(login, sales_rep) -> None:
    page = login(sales_rep).get("/contacts/", {"q": "ann", "sort": "name", "after": "x"})
    html = page.content.decode()
    assert 'id="list-export"' in html
    assert 'href="/contacts/export/?q=ann&amp;sort=name">Export CSV</a>' in html


# --- outside a test transaction: the REPEATABLE READ snapshot -------------------------------


@pytest.mark.django_db(transaction=True)
def test_export_reads_one_snapshot_and_is_audited_outside_any_transaction(
    client, audit_mark
) -> None:
    from accounts.factories import UserFactory

    user: User = UserFactory(email="solo@example.com", name="Solo")
    f.ContactFactory.create_batch(5, owner=user)
    client.force_login(user)
    assert not connection.in_atomic_block

    with CaptureQueriesContext(connection) as ctx:
        assert len(_rows(_export(client))) == 6
    statements = [q["sql"] for q in ctx.captured_queries]
    assert "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY" in statements
    (entry,) = _export_entries(audit_mark)
    assert entry.user_id == user.pk


def test_custom_field_definition_types_are_all_covered() -> None:
    # custom_value has a branch per stored shape; a new type must say how it is written.
    assert set(CustomFieldDefinition.FieldType) == {
        "text",
        "long_text",
        "number",
        "decimal",
        "date",
        "boolean",
        "choice",
        "multi_choice",
        "url",
        "email",
    }
