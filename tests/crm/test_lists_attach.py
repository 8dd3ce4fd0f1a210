"""A list's related records (a task's company, contact, lead, deal or board; a contact's or
deal's company) are read after the page's rows, with the visibility check the page makes
anyway, not joined into the row query (crm.lists.engine.attach_relations)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from crm import factories as f
from crm import permissions
from crm.lists import engine, get_spec
from crm.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def parents(sales_rep: User) -> dict[str, Any]:
    board = f.BoardFactory(owner=sales_rep, title="Launch board")
    return {
        "company": f.CompanyFactory(owner=sales_rep, name="Acme Anvils"),
        "contact": f.ContactFactory(owner=sales_rep, first_name="Wile", last_name="Coyote"),
        "lead": f.LeadFactory(owner=sales_rep, first_name="Road", last_name="Runner"),
        "deal": f.DealFactory(owner=sales_rep, name="Rocket skates"),
        "section": f.SectionFactory(board=board),
    }


def test_the_task_list_names_each_parent_without_joining_it(
    login: Any, sales_rep: User, parents: dict[str, Any]
) -> None:
    for name, parent in parents.items():
        f.TaskFactory(owner=sales_rep, title=f"About the {name}", **{name: parent})
    with CaptureQueriesContext(connection) as ctx:
        response = login(sales_rep).get(reverse("crm:task.list"))
    html = response.content.decode()
    for shown, parent in (
        ("Acme Anvils", parents["company"]),
        ("Wile Coyote", parents["contact"]),
        ("Road Runner", parents["lead"]),
        ("Rocket skates", parents["deal"]),
        ("Launch board", parents["section"].board),
    ):
        assert f'<a href="{parent.get_absolute_url()}">{shown}</a>' in html
    rows_sql = next(q["sql"] for q in ctx.captured_queries if 'FROM "crm_task" LEFT' in q["sql"])
    head = rows_sql.split(" WHERE ", 1)[0]
    for table in ("crm_company", "crm_contact", "crm_lead", "crm_deal", "crm_section"):
        assert f'JOIN "{table}"' not in head
    # Few joins: planned as PostgreSQL likes, without a transaction fixing the join order.
    assert not any("join_collapse_limit" in q["sql"] for q in ctx.captured_queries)


def test_related_rows_carry_the_shown_fields_and_defer_the_rest(
    sales_rep: User, parents: dict[str, Any], django_assert_num_queries: Any
) -> None:
    spec = get_spec("task")
    for name, parent in parents.items():
        f.TaskFactory(owner=sales_rep, **{name: parent})
    joined, only = engine.row_query_shape(spec)
    assert joined == ("owner", "assignee")
    rows = list(Task.objects.select_related(*joined).only(*only).order_by("title"))
    assert permissions.visible_to(sales_rep, Task).exists()  # reads the rules' facts
    with django_assert_num_queries(1):  # the one query for every relation
        engine.attach_relations(spec, sales_rep, rows)
    with django_assert_num_queries(0):
        about = {
            name: getattr(row, name)
            for row in rows
            for name in parents
            if getattr(row, f"{name}_id") is not None
        }
        assert str(about["company"]) == "Acme Anvils" and str(about["contact"]) == "Wile Coyote"
        assert str(about["lead"]) == "Road Runner" and str(about["deal"]) == "Rocket skates"
        assert about["section"].board.title == "Launch board"
        assert about["section"].board.pk == parents["section"].board_id
    assert about["company"].pk == parents["company"].pk
    assert "domain" in about["company"].get_deferred_fields()
    assert all(getattr(row, engine.visible_attr(name), True) for row in rows for name in parents)


def test_an_admin_gets_names_in_one_query_too(
    admin_user: User, sales_rep: User, parents: dict[str, Any], django_assert_num_queries: Any
) -> None:
    spec = get_spec("task")
    f.TaskFactory(owner=sales_rep, company=parents["company"])
    f.TaskFactory(owner=sales_rep, deal=parents["deal"])
    joined, only = engine.row_query_shape(spec)
    rows = list(Task.objects.select_related(*joined).only(*only))
    with django_assert_num_queries(1):
        engine.attach_relations(spec, admin_user, rows)
    assert {str(row.company or row.deal) for row in rows} == {"Acme Anvils", "Rocket skates"}
