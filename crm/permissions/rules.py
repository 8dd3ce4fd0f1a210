"""The visibility rules themselves: one Q per model and action, built from the facts about one
user that they read (team members, watched records), each fetched once per request.

Only crm.permissions (this package's __init__) calls into here; everything else goes through
its public functions (`visible_to`, `can_edit`, `get_object_for_user_or_404`, ...). The rules in
words, and the matrix, are in docs/permissions.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.lookups import IsNull

from crm import models as crm
from crm.kept import Kept
from crm.lookups import KeySet
from crm.permissions.viewer import _Viewer

Action = Literal["view", "edit", "delete"]
VIEW: Action = "view"
EDIT: Action = "edit"
DELETE: Action = "delete"

M = TypeVar("M", bound=Model)

# The CRM parents of notes and tasks: field name -> model.
_PARENTS: dict[str, type[Model]] = {
    "company": crm.Company,
    "contact": crm.Contact,
    "lead": crm.Lead,
    "deal": crm.Deal,
}
# A document's links: many-to-many field -> linked model.
_DOCUMENT_LINKS: dict[str, type[Model]] = {
    "companies": crm.Company,
    "contacts": crm.Contact,
    "leads": crm.Lead,
    "deals": crm.Deal,
    "contracts": crm.Contract,
    "invoices": crm.Invoice,
    "tasks": crm.Task,
}
_NOTHING = Q(pk__in=[])


# --- the rules: one Q per model and action, never called for admins -------------------------


def _any(arms: Iterable[Q]) -> Q:
    result = None
    for arm in arms:
        result = arm if result is None else result | arm
    return result if result is not None else _NOTHING


def _ids(field: str, ids: KeySet) -> list[Q]:
    # One array parameter, not a placeholder per id (crm.lookups: a manager watches hundreds).
    return [Q(**{f"{field}__any": ids})] if ids else []


def _owner_q(v: _Viewer, action: Action, shared: Q) -> Q:
    """The owner rule every owned record starts from; `shared` says what "shared with my
    team" means for the model."""
    if v.is_manager:
        return Q(owner_id__any=frozenset(v.team_ids))
    own = Q(owner_id=v.id)
    if v.teammate_ids and (action == VIEW or (action == EDIT and v.sales_can_edit_shared)):
        return own | (Q(owner_id__any=frozenset(v.teammate_ids)) & shared)
    return own


def _subquery(v: _Viewer, model: type[Model], action: Action) -> QuerySet:
    return model._default_manager.filter(_rule(v, model, action)).values("pk")


def _probed(rows: QuerySet) -> Q:
    """`rows` (correlated to the row tested through OuterRef) holds a row: tested by a
    scalar subquery, `(SELECT pk ... LIMIT 1) IS NOT NULL`, one index probe per row tested.

    Why not `IN (subquery)` or EXISTS: beside the other arms of an OR, PostgreSQL turns
    either into a SubPlan over every qualifying parent row, hashed when those fit in
    work_mem and otherwise re-read for every row tested. A manager's 280,000 visible
    contacts did not fit: the tasks list read them 475 times, 40 s for one page at 1M
    contacts and 300,000 tasks; hashed, a rep's still cost 450 ms a page, and the documents
    list scanned every link table. A scalar subquery is never hashed, and a list page tests a
    few hundred rows."""
    return Q(IsNull(Subquery(rows.order_by().values("pk")[:1]), False))


def _through(v: _Viewer, column: str, model: type[Model], action: Action) -> Q:
    """The row's `column` names a `model` row that `v` may `action` (_probed)."""
    return _probed(
        model._default_manager.filter(pk=OuterRef(column)).filter(_rule(v, model, action))
    )


def _shared_record(v: _Viewer, model: type[Model], action: Action) -> Q:
    return _owner_q(v, action, Q(shared_with_team=True))


def _watched_record(v: _Viewer, model: type[Model], action: Action) -> Q:
    arms = [_shared_record(v, model, action)]
    if action == VIEW:
        arms += _ids("pk", v.ids_via(model, "watchers"))
    return _any(arms)


def _task(v: _Viewer, model: type[Model], action: Action) -> Q:
    arms = [_shared_record(v, model, action)]
    if action in (VIEW, EDIT):
        # The assignee works the task: sees it and may update it (status, done).
        arms.append(Q(assignee_id=v.id))
    # Whoever may see / change / delete the record a task is about may do the same to the task.
    arms += [_through(v, f"{name}_id", parent, action) for name, parent in _PARENTS.items()]
    # Board tasks: people who may change the board manage its cards.
    board_action = VIEW if action == VIEW else EDIT
    sections = crm.Section.objects.filter(board_id__in=_subquery(v, crm.Board, board_action))
    arms.append(Q(section_id__in=sections.values("pk")))
    return _any(arms)


def _document(v: _Viewer, model: type[Model], action: Action) -> Q:
    arms = [_shared_record(v, model, action)]
    if action == VIEW:
        # A document shows wherever it is linked: whoever sees one of its records sees it.
        for field, target in _DOCUMENT_LINKS.items():
            through = crm.Document._meta.get_field(field).remote_field.through
            target_fk = f"{target._meta.model_name}_id"
            linked = through.objects.filter(document_id=OuterRef("pk"))
            arms.append(_probed(linked.filter(_through(v, target_fk, target, VIEW))))
    return _any(arms)


def _authored_child(parent_arms: Q, v: _Viewer, action: Action) -> Q:
    # A sales rep changes only what they wrote; a manager moderates their team's records.
    if action == VIEW or v.is_manager:
        return parent_arms
    return parent_arms & Q(author_id=v.id)


def _note(v: _Viewer, model: type[Model], action: Action) -> Q:
    parent_action = VIEW if action == VIEW else EDIT
    parents = _any(
        _through(v, f"{name}_id", parent, parent_action) for name, parent in _PARENTS.items()
    )
    return _authored_child(parents, v, action)


def _task_comment(v: _Viewer, model: type[Model], action: Action) -> Q:
    task_action = VIEW if action == VIEW else EDIT
    return _authored_child(_through(v, "task_id", crm.Task, task_action), v, action)


def _board(v: _Viewer, model: type[Model], action: Action) -> Q:
    shared = Q(visibility__in=[crm.Board.Visibility.TEAM, crm.Board.Visibility.PUBLIC])
    arms = [_owner_q(v, action, shared)]
    if action in (VIEW, EDIT):
        # People a board is shared with work on it; watchers follow it.
        arms += _ids("pk", v.ids_via(crm.Board, "shared_with"))
    if action == VIEW:
        arms.append(Q(visibility=crm.Board.Visibility.PUBLIC))
        arms += _ids("pk", v.ids_via(crm.Board, "watchers"))
    return _any(arms)


def _section(v: _Viewer, model: type[Model], action: Action) -> Q:
    board_action = VIEW if action == VIEW else EDIT
    return Q(board_id__in=_subquery(v, crm.Board, board_action))


_RULES = {
    crm.Company: _watched_record,
    crm.Contact: _watched_record,
    crm.Lead: _watched_record,
    crm.Deal: _watched_record,
    crm.Contract: _shared_record,
    crm.Invoice: _shared_record,
    crm.Document: _document,
    crm.Task: _task,
    crm.Note: _note,
    crm.TaskComment: _task_comment,
    crm.Board: _board,
    crm.Section: _section,
}


def _owner_split(v: _Viewer, model: type[Model]) -> tuple[Q, KeySet]:
    """The view rule of a record decided by owner and sharing, as (the condition on owner_id
    and shared_with_team alone, the primary keys visible for another reason: watched)."""
    rule = _RULES.get(model)
    if rule is _watched_record:
        return _shared_record(v, model, VIEW), v.ids_via(model, "watchers")
    if rule is _shared_record:
        return _shared_record(v, model, VIEW), KeySet([], [])
    raise ImproperlyConfigured(f"{model.__name__} is not visible by owner and sharing alone.")


# The rules that test each row by a correlated subquery (_probed: may the viewer see the record
# the row hangs off?) for every viewer but an admin. PostgreSQL's planner cannot estimate such
# a test, so a list of these counts by sampling (crm.pagination) without asking it first.
PROBED_MODELS = frozenset({crm.Task, crm.Document, crm.Note, crm.TaskComment})
# The rules whose Q costs real Python to build: each parent probe is a queryset, filtered (and
# so resolved) when built. A document's view rule holds 20 of them, 16 ms per build at 1M
# contacts, on every task or document list and panel. They are kept across requests, keyed by
# the viewer's facts() (read once per request, the team and the links in one query): the same
# facts build the same Q, and Django clones a Q's querysets whenever a query uses it, so one Q
# serves many queries. Owner rules build in microseconds: not kept.
_MEMO_MODELS = PROBED_MODELS
# Measured per kept rule: a document's view rule ~275 KB (it holds the task rule), a comment's
# ~90 KB, a task's ~40 KB, a note's ~25 KB. 128 entries: ten to forty viewers' lists, at most
# ~35 MB a worker; beyond, the least recently used are built again (correct, just slower).
_memo: Kept[Q] = Kept(128)


def _rule(v: _Viewer, model: type[Model], action: Action) -> Q:
    try:
        rule = _RULES[model]
    except KeyError:
        raise ImproperlyConfigured(
            f"crm.permissions has no visibility rule for {model.__name__}."
        ) from None
    if model not in _MEMO_MODELS:
        return rule(v, model, action)
    built = _memo.get((model, action, v.facts()), lambda: rule(v, model, action))
    # A new Q around the kept one: a caller that negates or extends what it was given
    # (Q.negate, Q.add) changes its own copy, not the rule other requests get.
    return Q(built)
