"""My tasks: the user's open tasks grouped by due date, overdue first, marked done inline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import factories as f
from crm.models import Task
from crm.selectors.tasks import my_tasks

pytestmark = pytest.mark.django_db

MINE = reverse("crm:task.mine")


def _due(days: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


def test_my_tasks_lists_overdue_first_then_by_due_date_and_undated_last(sales_rep) -> None:
    later = f.TaskFactory(owner=sales_rep, title="later", due_at=_due(30))
    undated = f.TaskFactory(owner=sales_rep, title="undated", due_at=None)
    overdue = f.TaskFactory(owner=sales_rep, title="overdue", due_at=_due(-3))
    very_overdue = f.TaskFactory(owner=sales_rep, title="very overdue", due_at=_due(-9))
    groups = my_tasks(sales_rep)
    order = [task for group in groups for task in group.tasks]
    assert order == [very_overdue, overdue, later, undated]
    assert groups[0].title == "Overdue" and groups[-1].title == "No date"


def test_my_tasks_are_assigned_to_me_or_mine_without_assignee(sales_rep, teammate) -> None:
    assigned = f.TaskFactory(owner=teammate, assignee=sales_rep, title="for me")
    unassigned = f.TaskFactory(owner=sales_rep, assignee=None, title="mine")
    f.TaskFactory(owner=sales_rep, assignee=teammate, title="delegated")
    f.TaskFactory(owner=sales_rep, status="done", completed_at=timezone.now(), title="done")
    tasks = {task for group in my_tasks(sales_rep) for task in group.tasks}
    assert tasks == {assigned, unassigned}


def test_my_tasks_merges_assigned_and_unassigned_in_due_order_up_to_the_limit(
    sales_rep, teammate, monkeypatch
) -> None:
    from crm.selectors import tasks as selectors

    monkeypatch.setattr(selectors, "MY_TASKS_LIMIT", 4)
    assigned = [
        f.TaskFactory(owner=teammate, assignee=sales_rep, due_at=_due(d)) for d in (1, 3, 5)
    ]
    unassigned = [f.TaskFactory(owner=sales_rep, assignee=None, due_at=_due(d)) for d in (2, 4)]
    f.TaskFactory(owner=sales_rep, assignee=None, due_at=None)  # undated: last, cut off
    order = [task for group in my_tasks(sales_rep) for task in group.tasks]
    assert order == [assigned[0], unassigned[0], assigned[1], unassigned[1]]


@pytest.mark.parametrize(
    ("show_done", "indexes"),
    [
        (False, ("task_assignee_open_due_idx", "task_owner_unassigned_due_idx")),
        (True, ("task_assignee_done_idx", "task_owner_unassigned_done_idx")),
    ],
)
def test_my_tasks_are_read_from_their_partial_indexes(
    show_done, indexes, sales_rep, teammate, explain
) -> None:
    # Each arm walks its own partial index in the page's order (crm 0016): at 300k tasks the
    # single OR read all 12,456 of a rep's open tasks to show 200 (31-37 ms against 0.6).
    f.TaskFactory(owner=teammate, assignee=sales_rep)
    f.TaskFactory(owner=sales_rep, assignee=None, status="done", completed_at=timezone.now())
    # Others' unassigned tasks, as a real table has them: without, "nobody assigned" is as
    # narrow as "mine" and a ten-row table may be read through either index.
    for status, completed_at in (("open", None), ("done", timezone.now())):
        f.TaskFactory.create_batch(
            30, owner=teammate, assignee=None, status=status, completed_at=completed_at
        )
    with CaptureQueriesContext(connection) as queries:
        my_tasks(sales_rep, show_done=show_done)
    sql = next(q["sql"] for q in reversed(queries.captured_queries) if "UNION ALL" in q["sql"])
    plan = explain(sql, model=Task)
    assert all(index in plan for index in indexes), plan


def test_show_done_lists_the_latest_done_of_both_kinds(sales_rep, teammate) -> None:
    def done(days_ago: int, **who) -> object:
        return f.TaskFactory(status="done", completed_at=_due(-days_ago), **who)

    mine = done(2, owner=sales_rep, assignee=None)
    given = done(1, owner=teammate, assignee=sales_rep)
    done(0, owner=sales_rep, assignee=teammate)  # delegated: the assignee's, not mine
    groups = my_tasks(sales_rep, show_done=True)
    assert [(g.key, g.tasks) for g in groups] == [("done", [given, mine])]


def test_show_done_adds_the_done_group(sales_rep, login) -> None:
    f.TaskFactory(owner=sales_rep, status="done", completed_at=timezone.now(), title="Finished")
    client = login(sales_rep)
    assert "Finished" not in client.get(MINE).content.decode()
    html = client.get(MINE, {"done": "1"}).content.decode()
    assert "Finished" in html and "Hide done" in html


def test_my_tasks_page_shows_groups_done_buttons_and_related_records(sales_rep, login) -> None:
    company = f.CompanyFactory(owner=sales_rep, name="Globex")
    task = f.TaskFactory(owner=sales_rep, company=company, title="Ring Globex", due_at=_due(-1))
    response = login(sales_rep).get(MINE)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Overdue" in html and "Ring Globex" in html
    assert company.get_absolute_url() in html
    assert reverse("crm:task.done", args=[task.pk]) in html


def test_my_tasks_names_every_kind_of_parent_from_one_query(
    sales_rep, outsider, django_assert_num_queries
) -> None:
    from crm.selectors.tasks import _attach_parents

    board = f.BoardFactory(owner=sales_rep, title="Launch")
    parents = {
        "company": f.CompanyFactory(owner=sales_rep, name="Globex"),
        "contact": f.ContactFactory(owner=sales_rep, first_name="Hank", last_name="Scorpio"),
        "lead": f.LeadFactory(owner=sales_rep, first_name="Homer", last_name="Simpson"),
        "deal": f.DealFactory(owner=sales_rep, name="Big deal"),
        "section": f.SectionFactory(board=board),
    }
    tasks = [f.TaskFactory(owner=sales_rep, **{k: v}) for k, v in parents.items()]
    hidden = f.TaskFactory(owner=sales_rep, company=f.CompanyFactory(owner=outsider, name="Nope"))
    tasks = list(
        Task.objects.filter(pk__in=[t.pk for t in [*tasks, hidden]]).order_by("created_at")
    )
    _attach_parents(sales_rep, tasks)  # reads the viewer's facts
    with django_assert_num_queries(1):
        _attach_parents(sales_rep, tasks)
    with django_assert_num_queries(0):
        named = [
            (str(t.related), t.related.get_absolute_url()) if t.related else None for t in tasks
        ]
    expected = [(str(p), p.get_absolute_url()) for p in [*list(parents.values())[:4], board]]
    assert named == [*expected, None]


def test_my_tasks_page_marks_overdue_dates_and_posts_back_to_itself(sales_rep, login) -> None:
    late = f.TaskFactory(owner=sales_rep, title="Late one", due_at=_due(-2))
    f.TaskFactory(owner=sales_rep, title="Later one", due_at=_due(20))
    html = login(sales_rep).get(MINE, {"done": "1"}).content.decode()
    late_row = html[html.index(f'id="task-row-{late.pk}"') :].split("</li>")[0]
    assert 'class="overdue"' in late_row
    assert html.count('class="overdue"') == 1
    assert html.count(f'name="next" value="{MINE}?done=1"') == 2


def test_a_task_about_a_record_i_may_not_see_does_not_name_it(sales_rep, outsider, login) -> None:
    hidden = f.CompanyFactory(owner=outsider, name="Hidden Corp")
    f.TaskFactory(owner=outsider, assignee=sales_rep, company=hidden, title="Help out")
    html = login(sales_rep).get(MINE).content.decode()
    assert "Help out" in html and "Hidden Corp" not in html


def test_htmx_done_marks_the_task_done_and_returns_its_row_with_undo(sales_rep, login) -> None:
    task = f.TaskFactory(owner=sales_rep, title="Finish me")
    url = reverse("crm:task.done", args=[task.pk])
    response = login(sales_rep).post(url, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "is-done" in html and "Undo" in html and "done." in html
    assert f'name="next" value="{MINE}"' in html  # the page's, not this POST's URL
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.completed_at is not None


def test_undo_reopens_the_task(sales_rep, login) -> None:
    task = f.TaskFactory(owner=sales_rep, status="done", completed_at=timezone.now())
    url = reverse("crm:task.done", args=[task.pk])
    response = login(sales_rep).post(url, {"status": "open"}, HTTP_HX_REQUEST="true")
    assert "Mark" in response.content.decode()
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN and task.completed_at is None


def test_plain_done_redirects_back_to_a_safe_next_url(sales_rep, login) -> None:
    task = f.TaskFactory(owner=sales_rep)
    url = reverse("crm:task.done", args=[task.pk])
    client = login(sales_rep)
    assert client.post(url, {"next": f"{MINE}?done=1"})["Location"] == f"{MINE}?done=1"
    other = f.TaskFactory(owner=sales_rep)
    response = client.post(
        reverse("crm:task.done", args=[other.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == MINE


def test_assignee_who_is_not_the_owner_may_mark_done(sales_rep, outsider, login) -> None:
    task = f.TaskFactory(owner=outsider, assignee=sales_rep)
    assert login(sales_rep).post(reverse("crm:task.done", args=[task.pk])).status_code == 302
    task.refresh_from_db()
    assert task.status == Task.Status.DONE


def test_read_only_viewer_gets_403_and_outsider_404_on_done(
    sales_rep, teammate, outsider, login
) -> None:
    task = f.TaskFactory(owner=sales_rep, shared_with_team=True)
    url = reverse("crm:task.done", args=[task.pk])
    assert login(teammate).post(url).status_code == 403
    assert login(outsider).post(url).status_code == 404
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN


def test_done_through_the_app_shows_in_the_task_history_with_my_name(sales_rep, login) -> None:
    task = f.TaskFactory(owner=sales_rep)
    client = login(sales_rep)
    client.post(reverse("crm:task.done", args=[task.pk]))
    history = client.get(task.get_absolute_url()).content.decode().split('id="history-title"')[1]
    assert "Sally Rep" in history and "Done" in history


def _mine_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(MINE, {"done": "1"}).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("n", [3, 30])
def test_my_tasks_page_stays_within_its_query_budget(
    n, sales_rep, login, django_assert_max_num_queries
) -> None:
    for i in range(n):
        company = f.CompanyFactory(owner=sales_rep)
        f.TaskFactory(owner=sales_rep, company=company, due_at=_due(i - 5))
        f.TaskFactory(owner=sales_rep, section=f.SectionFactory(board__owner=sales_rep))
        f.TaskFactory(owner=sales_rep, status="done", completed_at=timezone.now())
    client = login(sales_rep)
    with django_assert_max_num_queries(20):
        assert client.get(MINE, {"done": "1"}).status_code == 200


def test_my_tasks_queries_do_not_grow_with_the_number_of_tasks(sales_rep, login) -> None:
    client = login(sales_rep)
    f.TaskFactory.create_batch(3, owner=sales_rep, company=f.CompanyFactory(owner=sales_rep))
    few = _mine_queries(client)
    for _ in range(27):
        f.TaskFactory(owner=sales_rep, company=f.CompanyFactory(owner=sales_rep))
    assert _mine_queries(client) == few
