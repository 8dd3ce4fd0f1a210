"""The visibility rules themselves: one Q per model and action, built from the facts about one
user that they read (team members, watched records), each fetched once per request.

Only crm.permissions (this package's __init__) calls into here; everything else goes through
its public functions (`visible_to`, `can_edit`, `get_object_for_user_or_404`, ...). The rules in
words, and the matrix, are in docs/permissions.md.
"""

from __future__ import annotations

import functools
import itertools
import operator
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Literal, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.lookups import IsNull

from accounts.models import User
from crm import models as crm
from crm.lookups import KeySet

Action = Literal["view", "edit", "delete"]
VIEW: Action = "view"
EDIT: Action = "edit"
DELETE: Action = "delete"

M = TypeVar("M", bound=Model)

# Cached on the user instance, which lives as long as one request. Tests that change a team's
# members, its setting, or what the user watches after a check on the same instance call
# forget(user).
_TEAM_CACHE_ATTR = "_crm_permissions_team"
_RELATED_CACHE_ATTR = "_crm_permissions_related"
_FACTS_CACHE_ATTR = "_crm_permissions_facts"

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


class _Viewer:
    """The facts about one active user that the rules read, each fetched at most once."""

    def __init__(self, user: User) -> None:
        # Private: the rules read the user only through the facts below (id, role, team,
        # links), which are what the memo in _rule keys on. A rule reading anything else of
        # the user would be kept for other values of it.
        self._user = user
        self.id = user.pk
        self.is_admin = user.role == User.Role.ADMIN
        self.is_manager = user.role == User.Role.MANAGER
        self._related_ids: dict[tuple[type[Model], str], KeySet] = user.__dict__.setdefault(
            _RELATED_CACHE_ATTR, {}
        )

    def _team(self) -> tuple[Any, list[Any], bool]:
        cached = self._user.__dict__.get(_TEAM_CACHE_ATTR)
        if cached is not None and cached[0] == self._user.team_id:
            return cached
        if self._user.team_id is None:
            team = (None, [self.id], False)
        else:
            # Inactive members included: a departed rep's records stay with the team until
            # a manager reassigns them.
            rows = list(
                User.objects.filter(team_id=self._user.team_id).values_list(
                    "id", "team__sales_can_edit_shared"
                )
            )
            team = (self._user.team_id, [pk for pk, _ in rows], bool(rows and rows[0][1]))
        self._user.__dict__[_TEAM_CACHE_ATTR] = team
        return team

    @property
    def team_ids(self) -> list[Any]:
        """Members of the user's team, the user included (just the user without a team)."""
        return self._team()[1]

    @property
    def teammate_ids(self) -> list[Any]:
        return [pk for pk in self.team_ids if pk != self.id]

    @property
    def sales_can_edit_shared(self) -> bool:
        return self._team()[2]

    def ids_via(self, model: type[Model], m2m_field: str) -> KeySet:
        """Ids of `model` rows linked to this user through `m2m_field` (watchers, shared_with):
        a small indexed lookup, so the main query can use `id IN (...)` on the primary key.
        Cached on the user instance like the team, so the many `visible_to` calls of one page
        (panels, counts, choices) look each link table up once per request; every link the
        rules read (_LINKS) in one round trip, the first time any is needed (a task or
        document list needs six). A rule may read no other link: facts() would not know it."""
        key = (model, m2m_field)
        if key not in _LINKS:
            raise ImproperlyConfigured(f"{model.__name__}.{m2m_field} is not in rules._LINKS.")
        if key not in self._related_ids:
            self._related_ids.update(_links_of(self.id))
        return self._related_ids[key]

    def facts(self) -> tuple[Any, ...]:
        """Everything the rules read about this viewer, as a key: who they are, their role,
        their team and its setting, every link (_LINKS). Two viewers with the same facts get
        the same rules (the memo in _rule); a change to any fact makes a new key. Made once a
        request (cached on the user instance like what it is made of, dropped with it by
        forget(), made again if the instance's team or role changes); the links enter it as
        their KeySet literals, strings in the database's order, which hash and compare in C."""
        user = self._user
        made_for = (user.team_id, user.role)
        cached = user.__dict__.get(_FACTS_CACHE_ATTR)
        if cached is not None and cached[0] == made_for:
            return cached[1]
        team_id, team_ids, can_edit_shared = self._team()
        links = tuple(self.ids_via(model, field).literal for model, field in _LINKS)
        facts = (
            self.id,
            self.is_admin,
            self.is_manager,
            team_id,
            frozenset(team_ids),
            can_edit_shared,
            links,
        )
        user.__dict__[_FACTS_CACHE_ATTR] = (made_for, facts)
        return facts


# Every link table a rule reads through _Viewer.ids_via: (model, many-to-many field to users).
_LINKS: tuple[tuple[type[Model], str], ...] = (
    *((model, "watchers") for model in (crm.Company, crm.Contact, crm.Lead, crm.Deal)),
    (crm.Board, "shared_with"),
    (crm.Board, "watchers"),
)


@functools.cache
def _links_sql() -> str:
    """One UNION ALL over the _LINKS tables, each by its indexed user column: (position in
    _LINKS, linked row's id). Written from the models' own table and column names, once: the
    ORM's six-way union cost more Python to compile than the five round trips it saved."""
    quote = connection.ops.quote_name
    parts = []
    for tag, (model, field) in enumerate(_LINKS):
        through = model._meta.get_field(field).remote_field.through
        row_fk = through._meta.get_field(model._meta.model_name).column
        user_fk = through._meta.get_field("user").column
        table = quote(through._meta.db_table)
        column = quote(row_fk)
        parts.append(
            f"SELECT {tag}, {column}, {column}::text FROM {table} WHERE {quote(user_fk)} = %s"  # noqa: S608
        )
    # Ordered, so the same links give the same KeySet literal, request after request.
    return " UNION ALL ".join(parts) + " ORDER BY 1, 2"


def _links_of(user_id: Any) -> dict[tuple[type[Model], str], KeySet]:
    with connection.cursor() as cursor:
        cursor.execute(_links_sql(), [user_id] * len(_LINKS))
        rows = cursor.fetchall()
    found = {key: KeySet([], []) for key in _LINKS}
    for tag, linked in itertools.groupby(rows, key=operator.itemgetter(0)):
        linked = list(linked)
        found[_LINKS[tag]] = KeySet([pk for _, pk, _ in linked], [text for _, _, text in linked])
    return found


def _viewer(user: Any) -> _Viewer | None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return _Viewer(user)


def forget(user: Any) -> None:
    """Drop what was cached on this user instance (team members, the team's setting, the
    records they watch or boards shared with them)."""
    cache = getattr(user, "__dict__", {})
    cache.pop(_TEAM_CACHE_ATTR, None)
    cache.pop(_RELATED_CACHE_ATTR, None)
    cache.pop(_FACTS_CACHE_ATTR, None)


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
# the viewer's facts() (read fresh on every request, one query each for the team and the
# links): the same facts build the same Q, and Django clones a Q's querysets whenever a query
# uses it, so one Q serves many queries. Owner rules build in microseconds: not kept.
_MEMO_MODELS = PROBED_MODELS
# Measured per kept rule: a document's view rule ~275 KB (it holds the task rule), a comment's
# ~90 KB, a task's ~40 KB, a note's ~25 KB. 128 entries: ten to forty viewers' lists, at most
# ~35 MB a worker; beyond, the least recently used are built again (correct, just slower).
_MEMO_SIZE = 128
_memo: OrderedDict[tuple[Any, ...], Q] = OrderedDict()
_memo_lock = threading.Lock()


def _rule(v: _Viewer, model: type[Model], action: Action) -> Q:
    try:
        rule = _RULES[model]
    except KeyError:
        raise ImproperlyConfigured(
            f"crm.permissions has no visibility rule for {model.__name__}."
        ) from None
    if model not in _MEMO_MODELS:
        return rule(v, model, action)
    key = (model, action, v.facts())
    with _memo_lock:
        built = _memo.get(key)
        if built is not None:
            _memo.move_to_end(key)
    if built is None:
        built = rule(v, model, action)
        with _memo_lock:
            _memo[key] = built
            while len(_memo) > _MEMO_SIZE:
                _memo.popitem(last=False)
    # A new Q around the kept one: a caller that negates or extends what it was given
    # (Q.negate, Q.add) changes its own copy, not the rule other requests get.
    return Q(built)
