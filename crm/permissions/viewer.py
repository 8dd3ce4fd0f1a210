"""The viewer: the facts about one user that the visibility rules read (who they are, their
role, their team and its setting, the records they watch and the boards shared with them),
read in one round trip the first time a request needs any, and cached on the user instance
for the rest of the request. Part of crm.permissions; the rules are in rules.py.
"""

from __future__ import annotations

import functools
import itertools
import operator
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Model

from accounts.models import User
from crm import models as crm
from crm.lookups import KeySet

# Cached on the user instance, which lives as long as one request. Tests that change a team's
# members, its setting, or what the user watches after a check on the same instance call
# forget(user).
_TEAM_CACHE_ATTR = "_crm_permissions_team"
_RELATED_CACHE_ATTR = "_crm_permissions_related"
_FACTS_CACHE_ATTR = "_crm_permissions_facts"


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
            self._user.__dict__[_TEAM_CACHE_ATTR] = (None, [self.id], False)
        else:
            self._load(team=True, links=not self._related_ids)
        return self._user.__dict__[_TEAM_CACHE_ATTR]

    def _load(self, *, team: bool, links: bool) -> None:
        """Read the team (members and setting) and/or every link (_LINKS) into the caches on
        the user instance, in one round trip: most pages need both, and two queries were two
        round trips on every page."""
        team_id = self._user.team_id if team else None
        sql, params = _facts_sql(team_id=team_id, user_id=self.id if links else None)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            by_tag = {tag: list(rows) for tag, rows in itertools.groupby(cursor.fetchall(), _TAG)}
        if team_id is not None:
            # Inactive members included: a departed rep's records stay with the team until
            # a manager reassigns them. The team's setting comes with each member, as text.
            members = by_tag.get(_TEAM_TAG, [])
            can_edit_shared = bool(members) and members[0][2] == "true"
            cached = (team_id, [pk for _, pk, _ in members], can_edit_shared)
            self._user.__dict__[_TEAM_CACHE_ATTR] = cached
        if links:
            for tag, key in enumerate(_LINKS):
                rows = by_tag.get(tag, [])
                self._related_ids[key] = KeySet([pk for _, pk, _ in rows], [t for *_, t in rows])

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
            raise ImproperlyConfigured(f"{model.__name__}.{m2m_field} is not in viewer._LINKS.")
        if key not in self._related_ids:
            # With the team when that is still to be read (its own query otherwise).
            cached = self._user.__dict__.get(_TEAM_CACHE_ATTR)
            fresh = cached is not None and cached[0] == self._user.team_id
            self._load(team=not fresh and self._user.team_id is not None, links=True)
        return self._related_ids[key]

    def rules_key(self) -> tuple[Any, ...]:
        """What the rules read about this viewer, as a key (crm.kept): their facts, or just
        "admin", whose rules read nothing of them."""
        return ("admin",) if self.is_admin else self.facts()

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


_TAG = operator.itemgetter(0)
# The tag of the team's rows in _facts_sql (links are tagged by their place in _LINKS).
_TEAM_TAG = len(_LINKS)


@functools.cache
def _links_sql() -> str:
    """One UNION ALL over the _LINKS tables, each by its indexed user column: (position in
    _LINKS, linked row's id, that id as text for its KeySet literal). Written from the models'
    own table and column names, once: the ORM's six-way union cost more Python to compile than
    the five round trips it saved."""
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
    return " UNION ALL ".join(parts)


@functools.cache
def _team_sql() -> str:
    """The members of a team with its sales_can_edit_shared as text, tagged _TEAM_TAG: shaped
    like a _links_sql arm, so both go in one statement."""
    quote = connection.ops.quote_name
    team_fk = User._meta.get_field("team")
    team = team_fk.related_model._meta
    setting = team.get_field("sales_can_edit_shared").column
    return (
        f"SELECT {_TEAM_TAG}, u.{quote(User._meta.pk.column)}, t.{quote(setting)}::text"  # noqa: S608
        f" FROM {quote(User._meta.db_table)} u JOIN {quote(team.db_table)} t"
        f" ON t.{quote(team.pk.column)} = u.{quote(team_fk.column)}"
        f" WHERE u.{quote(team_fk.column)} = %s"
    )


def _facts_sql(*, team_id: Any, user_id: Any) -> tuple[str, list[Any]]:
    """What _Viewer._load runs: the team's members when `team_id`, every link of `user_id`
    when given; ordered by tag and id, so the same links give the same KeySet literal."""
    parts, params = [], []
    if user_id is not None:
        parts.append(_links_sql())
        params += [user_id] * len(_LINKS)
    if team_id is not None:
        parts.append(_team_sql())
        params.append(team_id)
    return " UNION ALL ".join(parts) + " ORDER BY 1, 2", params


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
