"""The visibility rules beyond the owner matrix: what a task, a note or a document hangs off,
reassignment, 404 for guessed ids, the shortcuts the rules allow. What they cost (queries,
plans): test_visibility_cost.py."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory

from accounts.factories import UserFactory
from accounts.models import User
from crm import factories as f
from crm import models as crm
from crm import permissions

pytestmark = pytest.mark.django_db


def _request(user: User) -> object:
    request = RequestFactory().get("/")
    request.user = user
    return request


# --- tasks ------------------------------------------------------------------------------------


def test_assignee_sees_and_updates_a_task_they_do_not_own_but_cannot_delete_it(
    sales_rep, outsider
) -> None:
    task = f.TaskFactory(owner=outsider, assignee=sales_rep)
    assert permissions.can_view(sales_rep, task)
    assert permissions.can_edit(sales_rep, task)
    assert not permissions.can_delete(sales_rep, task)


@pytest.mark.parametrize("parent_field", ["company", "contact", "lead", "deal"])
def test_task_follows_the_record_it_is_about(parent_field, sales_rep, outsider, teammate) -> None:
    factory = {
        "company": f.CompanyFactory,
        "contact": f.ContactFactory,
        "lead": f.LeadFactory,
        "deal": f.DealFactory,
    }[parent_field]
    mine = factory(owner=sales_rep)
    watched = factory(owner=outsider)
    watched.watchers.add(sales_rep)
    on_mine = f.TaskFactory(owner=outsider, assignee=outsider, **{parent_field: mine})
    on_watched = f.TaskFactory(owner=outsider, assignee=outsider, **{parent_field: watched})

    # The owner of a record manages every task on it, whoever created the task.
    assert permissions.can_view(sales_rep, on_mine)
    assert permissions.can_edit(sales_rep, on_mine)
    assert permissions.can_delete(sales_rep, on_mine)
    # A watcher sees the record's tasks, read-only.
    assert permissions.can_view(sales_rep, on_watched)
    assert not permissions.can_edit(sales_rep, on_watched)
    assert not permissions.can_delete(sales_rep, on_watched)
    # The teammate sees neither: the record is not shared with the team.
    assert (
        not crm.Task.objects.visible_to(teammate)
        .filter(pk__in=[on_mine.pk, on_watched.pk])
        .exists()
    )


def test_board_tasks_follow_the_board(sales_rep, outsider, teammate) -> None:
    shared = f.BoardFactory(owner=outsider)
    shared.shared_with.add(sales_rep)
    public = f.BoardFactory(owner=outsider, visibility=crm.Board.Visibility.PUBLIC)
    on_shared = f.TaskFactory(owner=outsider, section=f.SectionFactory(board=shared))
    on_public = f.TaskFactory(owner=outsider, section=f.SectionFactory(board=public))

    assert permissions.can_edit(sales_rep, on_shared)
    assert permissions.can_delete(sales_rep, on_shared)
    assert permissions.can_view(teammate, on_public)
    assert not permissions.can_edit(teammate, on_public)
    assert not permissions.can_view(teammate, on_shared)


def test_my_tasks_filter_combines_with_visibility(sales_rep, outsider) -> None:
    mine = f.TaskFactory(owner=sales_rep, assignee=sales_rep)
    assigned = f.TaskFactory(owner=outsider, assignee=sales_rep)
    f.TaskFactory(owner=outsider, assignee=outsider)
    my_tasks = crm.Task.objects.filter(assignee=sales_rep).visible_to(sales_rep)
    assert set(my_tasks) == {mine, assigned}


# --- notes and documents ------------------------------------------------------------------------


@pytest.mark.parametrize("parent_field", ["contact", "lead", "deal"])
def test_note_follows_any_kind_of_parent(parent_field, sales_rep, outsider, manager) -> None:
    factory = {"contact": f.ContactFactory, "lead": f.LeadFactory, "deal": f.DealFactory}[
        parent_field
    ]
    mine = f.NoteFactory(
        company=None, author=sales_rep, **{parent_field: factory(owner=sales_rep)}
    )
    theirs = f.NoteFactory(
        company=None, author=outsider, **{parent_field: factory(owner=outsider)}
    )
    assert set(crm.Note.objects.visible_to(sales_rep).filter(pk__in=[mine.pk, theirs.pk])) == {
        mine
    }
    assert permissions.can_edit(sales_rep, mine)
    assert permissions.can_edit(manager, mine)
    assert not permissions.can_view(manager, theirs)


def test_a_linked_document_is_visible_with_its_record_but_not_editable(
    sales_rep, outsider, manager, teammate
) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    document = f.DocumentFactory(owner=outsider)
    document.companies.add(company)

    for user in (sales_rep, manager):
        assert permissions.can_view(user, document)
        assert not permissions.can_edit(user, document)
        assert not permissions.can_delete(user, document)
    assert not permissions.can_view(teammate, document)
    assert list(company.documents.visible_to(sales_rep)) == [document]


@pytest.mark.parametrize(
    ("link", "factory"),
    [
        ("contacts", f.ContactFactory),
        ("leads", f.LeadFactory),
        ("deals", f.DealFactory),
        ("contracts", f.ContractFactory),
        ("invoices", f.InvoiceFactory),
        ("tasks", f.TaskFactory),
    ],
)
def test_documents_are_visible_through_every_kind_of_link(
    link, factory, sales_rep, outsider
) -> None:
    document = f.DocumentFactory(owner=outsider)
    assert not permissions.can_view(sales_rep, document)
    getattr(document, link).add(factory(owner=sales_rep))
    assert permissions.can_view(sales_rep, document)
    # One row however many links: the arms are subqueries, never joins.
    getattr(document, link).add(factory(owner=sales_rep))
    assert crm.Document.objects.visible_to(sales_rep).filter(pk=document.pk).count() == 1


def test_watching_two_records_does_not_duplicate_rows(sales_rep, outsider) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    company.watchers.add(sales_rep, outsider)
    assert crm.Company.objects.visible_to(sales_rep).filter(pk=company.pk).count() == 1


# --- reassigning --------------------------------------------------------------------------------


def test_reassign_rules(sales_rep, teammate, outsider, manager, admin_user) -> None:
    team_record = f.DealFactory(owner=sales_rep)
    foreign_record = f.DealFactory(owner=outsider)
    departed = UserFactory(team=sales_rep.team, is_active=False)

    # Managers: their team's records, to an active teammate.
    assert permissions.can_reassign(manager, team_record)
    assert permissions.can_reassign(manager, team_record, to=teammate)
    assert not permissions.can_reassign(manager, team_record, to=outsider)
    assert not permissions.can_reassign(manager, team_record, to=departed)
    assert not permissions.can_reassign(manager, foreign_record)
    assert not permissions.can_reassign(manager, foreign_record, to=teammate)
    # Admins: anything, to any active user.
    assert permissions.can_reassign(admin_user, foreign_record, to=sales_rep)
    assert not permissions.can_reassign(admin_user, foreign_record, to=departed)
    # Sales reps: never, not even their own records.
    assert not permissions.can_reassign(sales_rep, team_record)
    assert not permissions.can_reassign(sales_rep, team_record, to=teammate)
    # Records without an owner of their own cannot be reassigned.
    assert not permissions.can_reassign(admin_user, f.NoteFactory(author=sales_rep))

    assert set(permissions.reassign_targets(manager)) == {sales_rep, teammate, manager}
    assert set(permissions.reassign_targets(admin_user)) >= {sales_rep, outsider, manager}
    assert departed not in permissions.reassign_targets(admin_user)
    assert not permissions.reassign_targets(sales_rep).exists()


# --- the view helper ----------------------------------------------------------------------------


def test_guessing_another_teams_uuid_gives_404_not_403(sales_rep, outsider) -> None:
    theirs = f.DealFactory(owner=outsider)
    request = _request(sales_rep)
    for kwargs in ({}, {"for_edit": True}, {"for_delete": True}):
        with pytest.raises(Http404):
            permissions.get_object_for_user_or_404(request, crm.Deal, theirs.pk, **kwargs)
    # Same answer as for an id that exists nowhere or is not even a UUID.
    for pk in (uuid.uuid4(), str(uuid.uuid4()), "not-a-uuid", "", None):
        with pytest.raises(Http404):
            permissions.get_object_for_user_or_404(request, crm.Deal, pk)


def test_helper_returns_the_object_and_refuses_writes_with_403(sales_rep, teammate) -> None:
    shared = f.DealFactory(owner=teammate, shared_with_team=True)
    request = _request(sales_rep)
    qs = crm.Deal.objects.select_related("stage")
    assert permissions.get_object_for_user_or_404(request, qs, shared.pk) == shared
    assert permissions.get_object_for_user_or_404(request, crm.Deal, str(shared.pk)) == shared
    with pytest.raises(PermissionDenied):
        permissions.get_object_for_user_or_404(request, crm.Deal, shared.pk, for_edit=True)


def test_an_entity_without_a_rule_is_a_configuration_error(sales_rep) -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        permissions.visible_to(sales_rep, crm.Pipeline)


def test_request_user_as_the_middleware_gives_it_works_too(sales_rep, teammate) -> None:
    from django.utils.functional import SimpleLazyObject

    shared = f.CompanyFactory(owner=teammate, shared_with_team=True)
    lazy_user = SimpleLazyObject(lambda: sales_rep)
    request = RequestFactory().get("/")
    request.user = lazy_user
    assert permissions.get_object_for_user_or_404(request, crm.Company, shared.pk) == shared
    assert list(crm.Company.objects.visible_to(lazy_user)) == [shared]
    assert not permissions.can_edit(lazy_user, shared)


@pytest.mark.parametrize("parent_key", ["company", "contact", "lead", "deal"])
def test_tasks_notes_and_documents_of_a_visible_record_are_visible_as_visible_through_says(
    sales_rep, outsider, parent_key
) -> None:
    # Detail panels skip the filter for these (permissions.visible_through): the rule itself
    # must admit every such row, whoever owns it.
    factory = {
        "company": f.CompanyFactory,
        "contact": f.ContactFactory,
        "lead": f.LeadFactory,
        "deal": f.DealFactory,
    }[parent_key]
    parent = factory(owner=sales_rep)
    task = f.TaskFactory(owner=outsider, **{parent_key: parent})
    note = f.NoteFactory(author=outsider, **{"company": None, parent_key: parent})
    document = f.DocumentFactory(owner=outsider)
    links = {"company": "companies", "contact": "contacts", "lead": "leads", "deal": "deals"}
    getattr(document, links[parent_key]).add(parent)
    assert permissions.visible_through(crm.Task, type(parent))
    assert permissions.visible_through(crm.Document, type(parent))
    assert permissions.visible_through(crm.Note, type(parent))
    assert task in crm.Task.objects.visible_to(sales_rep)
    assert note in crm.Note.objects.visible_to(sales_rep)
    assert document in crm.Document.objects.visible_to(sales_rep)


def test_rows_with_owners_of_their_own_do_not_follow_their_parent() -> None:
    assert not permissions.visible_through(crm.Contact, crm.Company)
    assert not permissions.visible_through(crm.Deal, crm.Company)
    assert not permissions.visible_through(crm.Contract, crm.Company)
    assert not permissions.visible_through(crm.Task, crm.Document)  # a document's tasks


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["sales_rep", "manager", "outsider", "admin_user"])
@pytest.mark.parametrize(
    ("field", "shortcut"),
    [("assignee", permissions.tasks_assigned_to), ("owner", permissions.tasks_owned_by)],
    ids=["assigned", "owned"],
)
def test_task_shortcuts_are_their_part_of_the_full_rule(
    who: str,
    field: str,
    shortcut,
    request: pytest.FixtureRequest,
    sales_rep: User,
    teammate: User,
    outsider: User,
) -> None:
    # The dashboard's and "my tasks"' shortcuts must give exactly what the whole rule gives:
    # the tasks assigned to the user, or owned by them, whoever else is on them and whatever
    # record (one the user may not see included) they are about.
    user = request.getfixturevalue(who)
    hidden_company = f.CompanyFactory(owner=outsider)
    for owner in (user, sales_rep, teammate, outsider):
        for assignee in (None, user, owner, outsider):
            f.TaskFactory(owner=owner, assignee=assignee)
            f.TaskFactory(owner=owner, assignee=assignee, company=hidden_company)
    fast = set(shortcut(user).values_list("pk", flat=True))
    full = permissions.visible_to(user, crm.Task).filter(**{field: user})
    assert fast == set(full.values_list("pk", flat=True)) and len(fast) >= 8


@pytest.mark.django_db
def test_an_inactive_user_is_assigned_nothing_visible(sales_rep: User) -> None:
    f.TaskFactory(owner=sales_rep, assignee=sales_rep)
    sales_rep.is_active = False
    assert not permissions.tasks_assigned_to(sales_rep).exists()
    assert not permissions.tasks_owned_by(sales_rep).exists()


@pytest.mark.django_db
def test_team_users_are_the_team_for_everyone_but_admins(
    sales_rep: User, teammate: User, manager: User, outsider: User, admin_user: User
) -> None:
    gone = UserFactory(team=sales_rep.team, is_active=False)
    team = {sales_rep, teammate, manager}
    for user in (sales_rep, manager):
        assert set(permissions.team_users(user)) == team
        # Filters still offer a departed member: their records stay with the team.
        assert set(permissions.team_users(user, active=False)) == team | {gone}
    assert set(permissions.team_users(outsider)) == {outsider}
    assert set(permissions.team_users(admin_user)) >= team | {outsider, admin_user}
    assert gone not in set(permissions.team_users(admin_user))
