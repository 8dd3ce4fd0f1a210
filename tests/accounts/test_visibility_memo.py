"""The rules of tasks, documents, notes and comments are kept across requests, keyed by what
the rules read about the viewer (crm.permissions.rules._rule): a kept rule must be the rule
built fresh, and any change to those facts must give the next request a new one."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from accounts.models import User
from crm import factories as f
from crm import models as crm
from crm import permissions
from crm.permissions import rules
from crm.permissions.viewer import _LINKS, _viewer

pytestmark = pytest.mark.django_db

KEPT = (crm.Task, crm.Document, crm.Note, crm.TaskComment)


def _fresh(user: User) -> User:
    """The user as the next request loads it: nothing cached on the instance."""
    return User.objects.select_related("team").get(pk=user.pk)


def _sql(user: User, model, action) -> str:
    return str(permissions._filter(user, model, action).query)


def _unkept(monkeypatch, user: User, model, action) -> str:
    """The same rule built as if nothing were kept: what the memo must always give."""
    with monkeypatch.context() as patch:
        patch.setattr(rules, "_MEMO_MODELS", frozenset())
        return _sql(_fresh(user), model, action)


@pytest.mark.parametrize("model", KEPT, ids=lambda m: m.__name__)
@pytest.mark.parametrize("action", ["view", "edit", "delete"])
def test_a_kept_rule_is_the_rule_built_fresh(
    model, action, sales_rep, teammate, manager, outsider, monkeypatch
) -> None:
    company = f.CompanyFactory(owner=outsider)
    company.watchers.add(sales_rep)
    f.BoardFactory(owner=teammate).shared_with.add(sales_rep)
    rules._memo.clear()
    for persona in (sales_rep, manager, teammate):
        first = _sql(_fresh(persona), model, action)  # built and kept
        kept = _sql(_fresh(persona), model, action)  # a later request: from the memo
        assert first == kept == _unkept(monkeypatch, persona, model, action)
    viewer = _viewer(_fresh(sales_rep))
    one, two = rules._rule(viewer, model, action), rules._rule(viewer, model, action)
    assert one.children[0] is two.children[0]  # kept, not built again


def test_changing_the_rule_handed_out_does_not_change_the_kept_one(sales_rep) -> None:
    viewer = _viewer(_fresh(sales_rep))
    handed = rules._rule(viewer, crm.Task, "view")
    handed.negate()
    handed.add(Q(pk__in=[]), Q.AND)
    again = rules._rule(_viewer(_fresh(sales_rep)), crm.Task, "view")
    assert not again.negated
    assert str(crm.Task.objects.filter(again).query) == str(
        permissions.visible_to(_fresh(sales_rep), crm.Task).query
    )


def test_every_fact_the_rules_read_makes_a_new_rule(
    sales_rep, teammate, outsider, monkeypatch
) -> None:
    company = f.CompanyFactory(owner=outsider)
    on_company = f.TaskFactory(owner=outsider, assignee=outsider, company=company)
    teammates = f.TaskFactory(owner=teammate, assignee=teammate, shared_with_team=True)
    board = f.BoardFactory(owner=outsider)
    on_board = f.TaskFactory(
        owner=outsider, assignee=outsider, section=f.SectionFactory(board=board)
    )

    def seen() -> set:
        visible = permissions.visible_to(_fresh(sales_rep), crm.Task)
        # Whatever the facts now, the kept rule is the one a build from scratch gives.
        assert str(visible.query) == _unkept(monkeypatch, sales_rep, crm.Task, "view")
        return set(visible.values_list("pk", flat=True))

    assert seen() == {teammates.pk}
    company.watchers.add(sales_rep)  # a watched record's tasks show
    assert seen() == {teammates.pk, on_company.pk}
    board.shared_with.add(sales_rep)  # a shared board's cards show
    assert seen() == {teammates.pk, on_company.pk, on_board.pk}
    company.watchers.remove(sales_rep)
    board.shared_with.remove(sales_rep)
    User.objects.filter(pk=sales_rep.pk).update(team=outsider.team)  # moved to another team
    assert seen() == set()
    User.objects.filter(pk=sales_rep.pk).update(team=teammate.team, role=User.Role.MANAGER)
    assert seen() == {teammates.pk}  # a manager sees the team's unshared work too
    unshared = f.TaskFactory(owner=teammate, assignee=teammate, shared_with_team=False)
    assert unshared.pk in seen()


def test_the_team_setting_is_a_fact_too(sales_rep, teammate) -> None:
    task = f.TaskFactory(owner=teammate, assignee=teammate, shared_with_team=True)

    def may_edit() -> bool:
        return permissions.editable_by(_fresh(sales_rep), crm.Task).filter(pk=task.pk).exists()

    teammate.team.sales_can_edit_shared = False
    teammate.team.save()
    assert not may_edit()
    teammate.team.sales_can_edit_shared = True
    teammate.team.save()
    assert may_edit()


def test_the_memo_stays_bounded(sales_rep, teammate, manager, monkeypatch) -> None:
    monkeypatch.setattr(rules._memo, "size", 2)
    rules._memo.clear()
    for persona in (sales_rep, teammate, manager):
        permissions.visible_to(_fresh(persona), crm.Task)
    assert len(rules._memo) == 2


def test_a_rule_may_read_only_the_links_the_memo_keys_on(sales_rep) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"not in viewer\._LINKS"):
        _viewer(sales_rep).ids_via(crm.Contract, "watchers")


def test_the_facts_are_made_once_a_request_and_dropped_with_forget(
    sales_rep, outsider, django_assert_num_queries
) -> None:
    user = _fresh(sales_rep)
    first = _viewer(user).facts()
    with django_assert_num_queries(0):
        assert _viewer(user).facts() is first
    company = f.CompanyFactory(owner=outsider)
    company.watchers.add(sales_rep)
    assert _viewer(user).facts() is first  # cached for this request's user
    permissions.forget(user)
    again = _viewer(user).facts()
    assert again != first
    assert again[-1][_LINKS.index((crm.Company, "watchers"))] == "{" + str(company.pk) + "}"
    user.role = User.Role.MANAGER  # the instance changed within the request: made again
    assert _viewer(user).facts()[2] is True


def test_the_same_links_give_the_same_facts_in_any_order_of_adding(sales_rep, outsider) -> None:
    companies = f.CompanyFactory.create_batch(4, owner=outsider)
    for company in reversed(companies):
        company.watchers.add(sales_rep)
    first = _viewer(_fresh(sales_rep)).facts()
    for company in companies:
        company.watchers.remove(sales_rep)
    for company in companies:
        company.watchers.add(sales_rep)
    assert _viewer(_fresh(sales_rep)).facts() == first
