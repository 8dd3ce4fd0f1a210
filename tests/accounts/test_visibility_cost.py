"""What the visibility rules cost: the facts they read once per request, and the plans
PostgreSQL makes of them (owner indexes, no SubPlan per row; parents probed row by row)."""

from __future__ import annotations

import pytest

from accounts.models import User
from crm import factories as f
from crm import models as crm
from crm import permissions

pytestmark = pytest.mark.django_db


# --- cost -----------------------------------------------------------------------------------


def test_visibility_costs_one_small_query_once_then_only_the_list(
    sales_rep, teammate, django_assert_num_queries
) -> None:
    f.CompanyFactory(owner=teammate, shared_with_team=True)
    # First use: team members and watched ids in one statement (cached on the user for the
    # request), then the list. A page's later panels and counts pay only for their own query.
    with django_assert_num_queries(2):
        list(crm.Company.objects.visible_to(sales_rep))
    with django_assert_num_queries(1):
        list(crm.Company.objects.visible_to(sales_rep))
    # Object checks on one's own records need no query at all.
    mine = f.CompanyFactory(owner=sales_rep)
    with django_assert_num_queries(0):
        assert permissions.can_edit(sales_rep, mine)


def test_every_link_the_rules_read_and_the_team_come_from_one_query(
    sales_rep, teammate, outsider, django_assert_num_queries
) -> None:
    from crm.permissions.viewer import _LINKS, _viewer

    factories = {
        crm.Company: f.CompanyFactory,
        crm.Contact: f.ContactFactory,
        crm.Lead: f.LeadFactory,
        crm.Deal: f.DealFactory,
        crm.Board: f.BoardFactory,
    }
    expected = {}
    for model, field in _LINKS:
        mine = [factories[model](owner=outsider) for _ in range(2)]
        for row in mine:
            getattr(row, field).add(sales_rep)
        getattr(factories[model](owner=outsider), field).add(outsider)  # someone else's link
        expected[(model, field)] = {row.pk for row in mine}
    sales_rep.team.sales_can_edit_shared = True
    sales_rep.team.save()
    viewer = _viewer(sales_rep)
    with django_assert_num_queries(1):
        found = {key: set(viewer.ids_via(*key)) for key in _LINKS}
        team = (set(viewer.team_ids), viewer.sales_can_edit_shared)
    assert found == expected
    assert team == ({sales_rep.pk, teammate.pk}, True)


def test_without_a_team_only_the_links_are_read(outsider, django_assert_num_queries) -> None:
    from crm.permissions.viewer import _viewer

    outsider.team = None
    outsider.save()
    viewer = _viewer(outsider)
    with django_assert_num_queries(0):
        assert viewer.team_ids == [outsider.pk] and not viewer.sales_can_edit_shared
    with django_assert_num_queries(1):
        viewer.facts()


def test_forget_drops_cached_team_membership(sales_rep, teammate) -> None:
    shared = f.CompanyFactory(owner=teammate, shared_with_team=True)
    assert permissions.can_view(sales_rep, shared)
    teammate.team = None
    teammate.save()
    assert permissions.can_view(sales_rep, shared)  # cached for this request's user
    permissions.forget(sales_rep)
    assert not permissions.can_view(sales_rep, shared)


def test_forget_drops_cached_watched_records(sales_rep, outsider) -> None:
    watched = f.CompanyFactory(owner=outsider)
    assert not permissions.can_view(sales_rep, watched)
    watched.watchers.add(sales_rep)
    assert not permissions.can_view(sales_rep, watched)  # cached for this request's user
    permissions.forget(sales_rep)
    assert permissions.can_view(sales_rep, watched)


@pytest.mark.parametrize("persona", ["sales_rep", "manager"])
def test_list_filters_are_answered_from_indexes_without_subplans(
    persona, request, sales_rep, teammate, outsider, explain
) -> None:
    user: User = request.getfixturevalue(persona)
    for owner in (sales_rep, teammate, outsider):
        f.CompanyFactory.create_batch(3, owner=owner)
    f.CompanyFactory(owner=outsider).watchers.add(user)
    # Index scans off too: which indexes answer the filter, whatever walk ten rows favour.
    plan = explain(crm.Company.objects.visible_to(user).order_by("-updated_at")[:50], bitmaps=True)
    # Ids are literal arrays, so no per-row subplan; the owner indexes serve the arms.
    assert "SubPlan" not in plan, plan
    assert "company_owner_upd_idx" in plan or "company_shared_owner_idx" in plan, plan


@pytest.mark.parametrize("persona", ["sales_rep", "manager"])
def test_rows_visible_through_a_parent_probe_it_row_by_row(
    persona, request, sales_rep, outsider, explain
) -> None:
    # A task about a company, a document linked to a contact: the parent's rule is tested by
    # a primary key probe per row, never a SubPlan over every visible parent (hashed, or
    # re-read per row when too many for work_mem: 40 s for a manager's task list at scale).
    user: User = request.getfixturevalue(persona)
    company = f.CompanyFactory(owner=sales_rep)
    f.TaskFactory(owner=outsider, company=company)
    f.DocumentFactory(owner=outsider).contacts.add(f.ContactFactory(owner=sales_rep))
    # Tasks: company, contact, lead, deal; documents: those and contracts, through links.
    for model, parents in ((crm.Task, 4), (crm.Document, 5)):
        plan = explain(model.objects.visible_to(user).order_by("-updated_at")[:50])
        first = plan.splitlines()[2]  # the walk's Filter, one arm per way in
        assert first.count(") IS NOT NULL)") >= parents, plan
        # Only a board's sections (a handful of rows) may stay a hashed SubPlan.
        assert first.count("hashed SubPlan") == (1 if model is crm.Task else 0), plan
        assert model.objects.visible_to(user).count() == 1


# --- what the planner can see ---------------------------------------------------------------

LISTED = (
    crm.Company,
    crm.Contact,
    crm.Lead,
    crm.Deal,
    crm.Contract,
    crm.Task,
    crm.Document,
    crm.Note,
    crm.TaskComment,
)


@pytest.mark.parametrize("model", LISTED, ids=lambda m: m.__name__)
def test_probes_rows_says_when_the_planner_is_blind_to_the_rule(
    model, sales_rep, teammate, manager, admin_user
) -> None:
    # crm.lists.engine counts a list by sampling, without asking the planner first, when
    # probes_rows says the rule tests each row by a subquery: it must say so exactly when
    # the plan filters the listed table by a SubPlan (crm.pagination._filters_by_subquery).
    from crm.pagination import planner_row_estimate

    f.CompanyFactory(owner=teammate, shared_with_team=True).watchers.add(sales_rep)
    f.BoardFactory(owner=teammate).shared_with.add(sales_rep)
    for persona in (sales_rep, manager, admin_user):
        planned = planner_row_estimate(permissions.visible_to(persona, model))
        assert planned.blind == permissions.probes_rows(persona, model), persona
    assert permissions.probes_rows(sales_rep, crm.Task)  # not vacuous
    inactive = User.objects.create_user(email="gone@example.com", password="x", is_active=False)
    assert not permissions.probes_rows(inactive, crm.Task)  # sees nothing, probes nothing


def test_editable_ids_asks_only_about_rows_the_user_does_not_own(
    sales_rep, teammate, manager, admin_user, django_assert_num_queries
) -> None:
    mine = [f.ContactFactory(owner=sales_rep) for _ in range(3)]
    shared = f.ContactFactory(owner=teammate, shared_with_team=True)
    theirs = f.ContactFactory(owner=teammate)
    rows = [*mine, shared, theirs]

    def by_rule(user) -> set:
        keys = [row.pk for row in rows]
        return set(
            permissions.editable_by(user, crm.Contact)
            .filter(pk__in=keys)
            .values_list("pk", flat=True)
        )

    for persona in (sales_rep, manager, admin_user):
        assert permissions.editable_ids(persona, rows) == by_rule(persona), persona
    list(crm.Contact.objects.visible_to(sales_rep))  # the rule's facts, read once a request
    with django_assert_num_queries(0):  # a page of the rep's own rows asks nothing
        assert permissions.editable_ids(sales_rep, mine) == {row.pk for row in mine}
    with django_assert_num_queries(1):  # the others, in one query
        permissions.editable_ids(sales_rep, rows)
