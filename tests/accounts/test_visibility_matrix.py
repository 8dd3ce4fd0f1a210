"""Every cell of docs/permissions.md: entity x persona x action gives the documented answer.

Each test builds one entity's "world" (a record per situation, keyed by a label) and checks,
for one persona, which labels each action allows: the list (visible_to), search, export and
count (the same set through the queryset API), detail (get_object_for_user_or_404: 200 or
404), edit and delete (editable_by / can_edit / the helper's 403, and deletable_by /
can_delete). The expected tables below are the matrix in the docs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404
from django.test import RequestFactory

from accounts.models import Team, User
from crm import factories as f
from crm import models as crm
from crm import permissions

PERSONAS = ("sales_rep", "teammate", "outsider", "manager", "admin_user")
ACTIONS = ("view", "edit", "delete")


@dataclass
class People:
    sales_rep: User
    teammate: User
    outsider: User
    manager: User
    admin_user: User
    home_team: Team


@pytest.fixture
def people(sales_rep, teammate, outsider, manager, admin_user, home_team) -> People:
    return People(sales_rep, teammate, outsider, manager, admin_user, home_team)


# --- worlds -----------------------------------------------------------------------------------

OWNED_LABELS = ("own", "team_private", "team_shared", "manager_own", "foreign", "orphan")


def owned_world(factory: Callable[..., Model], p: People, *, watchers: bool) -> dict[str, Model]:
    """One record per owner situation. "foreign" is shared with its own team, to prove the
    flag never reaches across teams; "watched" belongs to the outsider, watched by sales_rep."""
    world = {
        "own": factory(owner=p.sales_rep),
        "team_private": factory(owner=p.teammate),
        "team_shared": factory(owner=p.teammate, shared_with_team=True),
        "manager_own": factory(owner=p.manager),
        "foreign": factory(owner=p.outsider, shared_with_team=True),
        "orphan": factory(owner=None),
    }
    if watchers:
        world["watched"] = factory(owner=p.outsider)
        world["watched"].watchers.add(p.sales_rep)
    return world


def task_factory(**kwargs: Any) -> crm.Task:
    # The factory makes the owner the assignee; an orphan task has neither.
    return f.TaskFactory(assignee=kwargs.get("owner"), **kwargs)


def note_world(p: People) -> dict[str, Model]:
    company = owned_world(f.CompanyFactory, p, watchers=True)
    return {
        "on_own": f.NoteFactory(company=company["own"], author=p.sales_rep),
        "on_own_by_teammate": f.NoteFactory(company=company["own"], author=p.teammate),
        "on_team_private": f.NoteFactory(company=company["team_private"], author=p.teammate),
        "on_team_shared": f.NoteFactory(company=company["team_shared"], author=p.teammate),
        "on_foreign": f.NoteFactory(company=company["foreign"], author=p.outsider),
        "on_watched": f.NoteFactory(company=company["watched"], author=p.outsider),
        "on_orphan": f.NoteFactory(company=company["orphan"], author=None),
    }


def comment_world(p: People) -> dict[str, Model]:
    task = owned_world(task_factory, p, watchers=False)
    return {
        "on_own": f.TaskCommentFactory(task=task["own"], author=p.sales_rep),
        "on_own_by_teammate": f.TaskCommentFactory(task=task["own"], author=p.teammate),
        "on_team_private": f.TaskCommentFactory(task=task["team_private"], author=p.teammate),
        "on_team_shared": f.TaskCommentFactory(task=task["team_shared"], author=p.teammate),
        "on_foreign": f.TaskCommentFactory(task=task["foreign"], author=p.outsider),
        "on_orphan": f.TaskCommentFactory(task=task["orphan"], author=None),
    }


def board_world(p: People) -> dict[str, Model]:
    V = crm.Board.Visibility
    world = {
        "own": f.BoardFactory(owner=p.sales_rep),
        "team_private": f.BoardFactory(owner=p.teammate),
        "team_visible": f.BoardFactory(owner=p.teammate, visibility=V.TEAM),
        "manager_own": f.BoardFactory(owner=p.manager),
        "foreign": f.BoardFactory(owner=p.outsider, visibility=V.TEAM),
        "foreign_public": f.BoardFactory(owner=p.outsider, visibility=V.PUBLIC),
        "shared_with": f.BoardFactory(owner=p.outsider),
        "watched": f.BoardFactory(owner=p.outsider),
        "orphan": f.BoardFactory(owner=None),
    }
    world["shared_with"].shared_with.add(p.sales_rep)
    world["watched"].watchers.add(p.sales_rep)
    return world


def section_world(p: People) -> dict[str, Model]:
    return {label: f.SectionFactory(board=board) for label, board in board_world(p).items()}


def _all(labels: tuple[str, ...]) -> dict[str, set[str]]:
    return {action: set(labels) for action in ACTIONS}


def _same(labels: set[str]) -> dict[str, set[str]]:
    return {action: set(labels) for action in ACTIONS}


# --- the matrix (docs/permissions.md) ---------------------------------------------------------

# Companies, contacts, leads, deals: the owner rule plus watchers (see only).
WATCHED = {
    "sales_rep": {
        "view": {"own", "team_shared", "watched"},
        "edit": {"own"},
        "delete": {"own"},
    },
    "teammate": _same({"team_private", "team_shared"}),
    "outsider": _same({"foreign", "watched"}),
    "manager": _same({"own", "team_private", "team_shared", "manager_own"}),
    "admin_user": _all((*OWNED_LABELS, "watched")),
}
# Contracts, invoices, documents and tasks have no watchers: the owner rule alone.
OWNED = {
    "sales_rep": {"view": {"own", "team_shared"}, "edit": {"own"}, "delete": {"own"}},
    "teammate": _same({"team_private", "team_shared"}),
    "outsider": _same({"foreign"}),
    "manager": _same({"own", "team_private", "team_shared", "manager_own"}),
    "admin_user": _all(OWNED_LABELS),
}
NOTE_LABELS = (
    "on_own",
    "on_own_by_teammate",
    "on_team_private",
    "on_team_shared",
    "on_foreign",
    "on_watched",
    "on_orphan",
)
# Notes follow their record; a sales rep changes only notes they wrote, on records they may
# change; a manager moderates every note on the team's records.
NOTES = {
    "sales_rep": {
        "view": {"on_own", "on_own_by_teammate", "on_team_shared", "on_watched"},
        "edit": {"on_own"},
        "delete": {"on_own"},
    },
    "teammate": _same({"on_team_private", "on_team_shared"}),
    "outsider": _same({"on_foreign", "on_watched"}),
    "manager": _same({"on_own", "on_own_by_teammate", "on_team_private", "on_team_shared"}),
    "admin_user": _all(NOTE_LABELS),
}
COMMENT_LABELS = tuple(label for label in NOTE_LABELS if label != "on_watched")
COMMENTS = {
    "sales_rep": {
        "view": {"on_own", "on_own_by_teammate", "on_team_shared"},
        "edit": {"on_own"},
        "delete": {"on_own"},
    },
    "teammate": _same({"on_team_private", "on_team_shared"}),
    "outsider": _same({"on_foreign"}),
    "manager": _same({"on_own", "on_own_by_teammate", "on_team_private", "on_team_shared"}),
    "admin_user": _all(COMMENT_LABELS),
}
BOARD_LABELS = (
    "own",
    "team_private",
    "team_visible",
    "manager_own",
    "foreign",
    "foreign_public",
    "shared_with",
    "watched",
    "orphan",
)
# Boards: visibility team/public plays "shared with my team"; public boards are seen by all;
# people a board is shared with work on it; watchers see it.
BOARDS = {
    "sales_rep": {
        "view": {"own", "team_visible", "foreign_public", "shared_with", "watched"},
        "edit": {"own", "shared_with"},
        "delete": {"own"},
    },
    "teammate": {
        "view": {"team_private", "team_visible", "foreign_public"},
        "edit": {"team_private", "team_visible"},
        "delete": {"team_private", "team_visible"},
    },
    "outsider": _same({"foreign", "foreign_public", "shared_with", "watched"}),
    "manager": {
        "view": {"own", "team_private", "team_visible", "manager_own", "foreign_public"},
        "edit": {"own", "team_private", "team_visible", "manager_own"},
        "delete": {"own", "team_private", "team_visible", "manager_own"},
    },
    "admin_user": _all(BOARD_LABELS),
}
# Sections follow their board; whoever may change the board may delete its sections.
SECTIONS = {
    persona: {
        "view": cells["view"],
        "edit": cells["edit"],
        "delete": cells["edit"],
    }
    for persona, cells in BOARDS.items()
}


@dataclass
class Entity:
    model: type[Model]
    world: Callable[[People], dict[str, Model]]
    expected: dict[str, dict[str, set[str]]]


ENTITIES = {
    "company": Entity(
        crm.Company, lambda p: owned_world(f.CompanyFactory, p, watchers=True), WATCHED
    ),
    "contact": Entity(
        crm.Contact, lambda p: owned_world(f.ContactFactory, p, watchers=True), WATCHED
    ),
    "lead": Entity(crm.Lead, lambda p: owned_world(f.LeadFactory, p, watchers=True), WATCHED),
    "deal": Entity(crm.Deal, lambda p: owned_world(f.DealFactory, p, watchers=True), WATCHED),
    "contract": Entity(
        crm.Contract, lambda p: owned_world(f.ContractFactory, p, watchers=False), OWNED
    ),
    "invoice": Entity(
        crm.Invoice, lambda p: owned_world(f.InvoiceFactory, p, watchers=False), OWNED
    ),
    "document": Entity(
        crm.Document, lambda p: owned_world(f.DocumentFactory, p, watchers=False), OWNED
    ),
    "task": Entity(crm.Task, lambda p: owned_world(task_factory, p, watchers=False), OWNED),
    "note": Entity(crm.Note, note_world, NOTES),
    "task_comment": Entity(crm.TaskComment, comment_world, COMMENTS),
    "board": Entity(crm.Board, board_world, BOARDS),
    "section": Entity(crm.Section, section_world, SECTIONS),
}


def _labels(world: dict[str, Model], pks: set[Any]) -> set[str]:
    return {label for label, obj in world.items() if obj.pk in pks}


def _request(user: User) -> Any:
    request = RequestFactory().get("/")
    request.user = user
    return request


def _detail_status(user: User, obj: Model, **kwargs: bool) -> int:
    try:
        permissions.get_object_for_user_or_404(_request(user), type(obj), obj.pk, **kwargs)
    except Http404:
        return 404
    except PermissionDenied:
        return 403
    return 200


def check_cells(
    entity: Entity, world: dict[str, Model], user: User, expected: dict[str, set[str]]
) -> None:
    model = entity.model
    in_world = model.objects.filter(pk__in=[obj.pk for obj in world.values()])

    # list, search, export, count: all are the visible queryset, filtered further.
    listed = set(in_world.visible_to(user).values_list("pk", flat=True))
    assert _labels(world, listed) == expected["view"], "list"
    exported = {row.pk for row in permissions.visible_to(user, in_world).iterator()}
    assert _labels(world, exported) == expected["view"], "export"
    # A list page's and an export's top query (a compiled rule, kept, for tasks and documents).
    for _ in range(2):  # compiled, then kept
        top = permissions.listed_to(user, model).filter(pk__in=in_world.values("pk"))
        assert _labels(world, set(top.values_list("pk", flat=True))) == expected["view"], "top"
    assert in_world.visible_to(user).count() == len(expected["view"]), "count"
    assert (
        _labels(world, set(in_world.editable_by(user).values_list("pk", flat=True)))
        == (expected["edit"])
    ), "editable_by"
    assert (
        _labels(world, set(in_world.deletable_by(user).values_list("pk", flat=True)))
        == (expected["delete"])
    ), "deletable_by"
    assert _labels(world, permissions.editable_ids(user, world.values())) == expected["edit"]

    for label, obj in world.items():
        visible = label in expected["view"]
        editable = label in expected["edit"]
        deletable = label in expected["delete"]
        assert permissions.can_view(user, obj) is visible, (label, "can_view")
        assert permissions.can_edit(user, obj) is editable, (label, "can_edit")
        assert permissions.can_delete(user, obj) is deletable, (label, "can_delete")
        # Detail: invisible answers 404 (no existence leak), visible-but-read-only 403.
        assert _detail_status(user, obj) == (200 if visible else 404), (label, "detail")
        assert _detail_status(user, obj, for_edit=True) == (
            404 if not visible else 200 if editable else 403
        ), (label, "detail for edit")
        assert _detail_status(user, obj, for_delete=True) == (
            404 if not visible else 200 if deletable else 403
        ), (label, "detail for delete")


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("entity_name", list(ENTITIES))
def test_matrix_cell(entity_name: str, persona: str, people: People) -> None:
    entity = ENTITIES[entity_name]
    world = entity.world(people)
    check_cells(entity, world, getattr(people, persona), entity.expected[persona])


# With the team setting on, sales reps may also change (never delete) teammates' shared records.
SETTING_ON_EDIT = {
    "company": {"own", "team_shared"},
    "contract": {"own", "team_shared"},
    "document": {"own", "team_shared"},
    "task": {"own", "team_shared"},
    "board": {"own", "team_visible", "shared_with"},
    "section": {"own", "team_visible", "shared_with"},
    # Notes and comments: still only what the rep wrote (their teammate wrote these).
    "note": {"on_own"},
    "task_comment": {"on_own"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("entity_name", list(SETTING_ON_EDIT))
def test_team_setting_lets_sales_edit_shared_records(entity_name: str, people: People) -> None:
    people.home_team.sales_can_edit_shared = True
    people.home_team.save()
    entity = ENTITIES[entity_name]
    expected = dict(entity.expected["sales_rep"])
    expected["edit"] = SETTING_ON_EDIT[entity_name]
    if entity_name == "section":
        expected["delete"] = SETTING_ON_EDIT[entity_name]
    check_cells(entity, entity.world(people), people.sales_rep, expected)
    # The teammate's view of the sales rep's own (unshared) record does not change.
    check_cells(entity, entity.world(people), people.teammate, entity.expected["teammate"])


@pytest.mark.django_db
@pytest.mark.parametrize("entity_name", list(ENTITIES))
def test_anonymous_and_deactivated_users_see_nothing(entity_name: str, people: People) -> None:
    from django.contrib.auth.models import AnonymousUser

    entity = ENTITIES[entity_name]
    world = entity.world(people)
    people.sales_rep.is_active = False
    people.sales_rep.save()
    for user in (AnonymousUser(), people.sales_rep):
        check_cells(entity, world, user, {"view": set(), "edit": set(), "delete": set()})
