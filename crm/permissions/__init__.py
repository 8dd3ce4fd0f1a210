"""Who may see and change which CRM record: the one module that decides (docs/permissions.md).

Every list, detail page, search result, kanban column, export, related-record panel,
autocomplete, count and bulk action goes through these functions, usually by way of the
managers (`Deal.objects.visible_to(user)`), so a rule changes in one place.

The rules, in short (the matrix with every cell is in docs/permissions.md):
- admin: everything.
- manager: every record owned by a member of their team (their own included): see, change,
  delete, reassign within the team.
- sales: their own records (see, change, delete); teammates' records marked "shared with my
  team" (see; change too when the team's `sales_can_edit_shared` is on); records they watch
  (see).
- A record nobody owns is visible to admins (and its watchers) only.
- Records without an owner of their own follow their parent: a note its record, a board
  section its board, a task comment its task. Tasks and documents have an owner and are also
  visible through what they hang off (a task's record or board, a document's linked records).
- Anonymous and deactivated users see nothing.

Performance: filters are `owner_id IN (<ids>)` and `id IN (<ids>)` with the ids fetched first
(team members once per request, watched rows once per call), so PostgreSQL can answer from the
`(owner, updated_at)` indexes with a BitmapOr instead of a join or subplan per row. Notes, tasks
and documents add `IN (subquery)` arms for their parents: list them filtered by an indexed
column first (a parent, an assignee, a section) and let `visible_to` narrow.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Exists, Model, OuterRef, Q, QuerySet, Value, When
from django.db.models.lookups import IsNull
from django.http import Http404, HttpRequest

from accounts.models import User
from crm import models as crm
from crm.kept import kept_rows
from crm.lookups import KeySet
from crm.permissions.keys import (
    _owns,
    editable_ids,
    editable_keys,
    governs,
    related_row,
    rule_condition,
    viewable,
    visible_ids,
    visible_ids_each,
    visible_names,
    visible_rows_each,
)
from crm.permissions.rules import (
    _DOCUMENT_LINKS,
    _PARENTS,
    DELETE,
    EDIT,
    PROBED_MODELS,
    VIEW,
    Action,
    M,
    _owner_split,
    _rule,
)
from crm.permissions.viewer import _viewer, forget

__all__ = [
    "DELETE",
    "EDIT",
    "VIEW",
    "Action",
    "can_delete",
    "can_edit",
    "can_reassign",
    "can_view",
    "deletable_by",
    "editable_by",
    "editable_ids",
    "editable_keys",
    "forget",
    "get_object_for_user_or_404",
    "governs",
    "if_visible",
    "listed_to",
    "probes_rows",
    "reassign_targets",
    "related_row",
    "rules_key",
    "tasks_assigned_to",
    "tasks_owned_by",
    "team_users",
    "viewable",
    "visible_condition",
    "visible_fk",
    "visible_ids",
    "visible_ids_each",
    "visible_names",
    "visible_rows_each",
    "visible_split",
    "visible_through",
    "visible_to",
]


# --- QuerySet level -------------------------------------------------------------------------


def _as_queryset(model_or_qs: type[M] | QuerySet[M]) -> QuerySet[M]:
    if isinstance(model_or_qs, QuerySet):
        return model_or_qs
    return model_or_qs._default_manager.all()


def _filter(user: Any, model_or_qs: type[M] | QuerySet[M], action: Action) -> QuerySet[M]:
    qs = _as_queryset(model_or_qs)
    v = _viewer(user)
    if v is None:
        return qs.none()
    if v.is_admin:
        return qs
    return qs.filter(_rule(v, qs.model, action))


def rules_key(user: Any) -> tuple[Any, ...] | None:
    """What every rule reads about `user`, as a key (None for nobody to see anything): two
    users with the same key see and may change the same rows, so a query compiled with the
    rules of one serves the other (crm.kept). The viewer's facts, read once a request."""
    v = _viewer(user)
    return None if v is None else v.rules_key()


def visible_to(user: Any, model_or_qs: type[M] | QuerySet[M]) -> QuerySet[M]:
    """The rows `user` may see: the base of every list, search, export, count and panel."""
    return _filter(user, model_or_qs, VIEW)


def listed_to(user: Any, model_or_qs: type[M] | QuerySet[M]) -> QuerySet[M]:
    """visible_to(user, model_or_qs), for the top of a query only (a list page's or an
    export's row query, the object a view works on): the same rows, with the rule of a model
    whose rule is costly to build and compile (tasks, documents, notes, comments:
    PROBED_MODELS) filtered as SQL compiled once per viewer (keys.rule_condition). Never for a
    query that becomes a subquery: that SQL names the table itself, which inside a subquery
    would be another row's."""
    qs = _as_queryset(model_or_qs)
    v = _viewer(user)
    model = qs.model._meta.concrete_model
    if v is None or v.is_admin or model not in PROBED_MODELS:
        return visible_to(user, qs)
    condition = rule_condition(v, model, VIEW)
    if condition is None:
        return visible_to(user, qs)
    return qs.filter(condition)


def visible_condition(user: Any, model: type[Model]) -> Q | None:
    """`visible_to(user, model)` as a condition to test per row rather than filter by: None
    when every row is visible (an admin); PermissionDenied for a user who may see nothing (an
    inactive one). Only for a query that must see the rows it passes over and never return
    the hidden ones, such as the fenced search tier, which learns from them where it
    stopped (docs/permissions.md)."""
    v = _viewer(user)
    if v is None:
        raise PermissionDenied("visible_condition: the user may see nothing")
    if v.is_admin:
        return None
    return _rule(v, model._meta.concrete_model, VIEW)


def probes_rows(user: Any, model: type[Model]) -> bool:
    """Whether visible_to(user, model) tests each row by a correlated subquery, which the
    planner cannot estimate (crm.pagination counts such a list by sampling, without asking
    it). False for an admin, who sees every row, and for an inactive user, who sees none."""
    v = _viewer(user)
    return v is not None and not v.is_admin and model._meta.concrete_model in PROBED_MODELS


def editable_by(user: Any, model_or_qs: type[M] | QuerySet[M]) -> QuerySet[M]:
    """The rows `user` may change; adding a note, task or document to a record is changing it."""
    return _filter(user, model_or_qs, EDIT)


def deletable_by(user: Any, model_or_qs: type[M] | QuerySet[M]) -> QuerySet[M]:
    """The rows `user` may delete."""
    return _filter(user, model_or_qs, DELETE)


def visible_through(model: type[Model], parent: type[Model]) -> bool:
    """Whether every `model` row hanging off a `parent` row the user may see is visible too, by
    the rules above: a task or a note on a company, contact, lead or deal (`_task`'s and
    `_note`'s parent arms), a document linked to any record (`_document`'s link arms). A page
    listing such rows of a record it has already checked (a detail page's Tasks or Documents
    panel, its timeline's notes and tasks) needs no filter of its own; the filter would only
    repeat a costly union of subqueries (a timeline's notes: 10-450 ms at 1M contacts)."""
    model, parent = model._meta.concrete_model, parent._meta.concrete_model
    if model in (crm.Task, crm.Note):
        return parent in _PARENTS.values()
    if model is crm.Document:
        return parent in _DOCUMENT_LINKS.values()
    return False


def visible_under(user: Any, queryset: QuerySet[M], parent: Model | None) -> QuerySet[M]:
    """The rows of `queryset` that `user` may see, where they all hang off `parent`, a record
    the caller has already checked: unfiltered when the rules make such rows visible with
    their parent (visible_through), else through visible_to. A detail page's panels and
    timeline read this way; filtering again would cost a union of subqueries per query."""
    if parent is not None and visible_through(queryset.model, type(parent)):
        return queryset
    return visible_to(user, queryset)


def visible_split(user: Any, model: type[Model]) -> tuple[Q | None, KeySet]:
    """`visible_to(user, model)` in two parts whose union it is: a condition that reads only
    `owner_id` and `shared_with_team` (None: every row, for an admin), and the primary keys
    visible for another reason (the records the user watches). For tables that copy those two
    columns from the records they summarise, such as crm.DealStageTotal: the rule stays here,
    and a summary row is visible exactly when the records it counts are."""
    v = _viewer(user)
    if v is None:
        return Q(pk__in=[]), KeySet([], [])
    if v.is_admin:
        return None, KeySet([], [])
    return _owner_split(v, model._meta.concrete_model)


def tasks_assigned_to(user: Any) -> QuerySet[crm.Task]:
    """The tasks assigned to `user`: all visible to them, because the task rule's assignee arm
    says so (an assignee works the task: sees it and may update it). The same rows as
    `visible_to(user, Task).filter(assignee=user)` without the rest of that rule, whose parent
    subqueries PostgreSQL evaluates for every assigned task (13 to 18 ms for a dashboard at
    300k tasks, against about 1 ms). Tested against the full rule."""
    v = _viewer(user)
    if v is None:
        return crm.Task.objects.none()
    return crm.Task.objects.filter(assignee_id=v.id)


def tasks_owned_by(user: Any) -> QuerySet[crm.Task]:
    """The tasks `user` owns: all visible to them through the owner arm every rule starts from
    (their own rows for a rep, their team's for a manager, themselves included). The same rows
    as `visible_to(user, Task).filter(owner=user)`, without building and compiling the whole
    task rule (about 5 ms of Python a query at 300k tasks). Tested against the full rule."""
    v = _viewer(user)
    if v is None:
        return crm.Task.objects.none()
    return crm.Task.objects.filter(owner_id=v.id)


def visible_fk(user: Any, model: type[Model], field: str) -> Q | None:
    """A condition on rows whose foreign key `field` points at a `model` row `user` may see,
    for an annotation in the query that reads the row (`Case(When(visible_fk(...), then=
    F("company__name")))`): no extra round trip per page. None when nothing is hidden (an
    admin, an ungoverned model). A NULL key never matches."""
    # A correlated EXISTS on the related row's primary key, not `field IN (<visible rows>)`:
    # the IN form made PostgreSQL build the whole set of visible companies (a scan of 26,000
    # rows for a manager at 100k companies) to label a page of 50; EXISTS in the select list
    # runs once per returned row, one index lookup each (docs/benchmarks.md).
    v = _viewer(user)
    if v is None:
        return Q(**{f"{field}__in": []})
    if v.is_admin or not governs(model):
        return None
    # The IsNull on the outer key is there for the planner, not for the result (a NULL key
    # matches no primary key anyway): PostgreSQL may rewrite `EXISTS (... WHERE pk = outer)`
    # into a hashed subplan that first builds the set of every visible company, the very
    # plan the EXISTS was meant to avoid; it did so on list pages at 1M rows (40 ms of a
    # manager's contacts list, docs/benchmarks.md). A second, non-equality reference to the
    # outer row is something that rewrite cannot take, so the EXISTS stays a per-row lookup.
    target = model._meta.concrete_model
    rows = target._default_manager.filter(
        IsNull(OuterRef(field), False), _rule(v, target, VIEW), pk=OuterRef(field)
    )
    return Q(Exists(rows))


def if_visible(user: Any, model: type[Model], field: str, then: Any, default: Any = None) -> Any:
    """`then` (an expression: the related record's name) on rows whose foreign key `field`
    points at a `model` row `user` may see, `default` (NULL) on the others: the name of a
    record the user may not open never leaves the database."""
    condition = visible_fk(user, model, field)
    if condition is None:
        return then
    then = then if hasattr(then, "resolve_expression") else Value(then)
    default = default if hasattr(default, "resolve_expression") else Value(default)
    return Case(When(condition, then=then), default=default)


# --- object level ---------------------------------------------------------------------------


def _allowed(user: Any, obj: Model, action: Action) -> bool:
    v = _viewer(user)
    if v is None:
        return False
    if v.is_admin or _owns(v, obj):
        return True
    return type(obj)._default_manager.filter(_rule(v, type(obj), action), pk=obj.pk).exists()


def can_view(user: Any, obj: Model) -> bool:
    return _allowed(user, obj, VIEW)


def can_edit(user: Any, obj: Model) -> bool:
    return _allowed(user, obj, EDIT)


def can_delete(user: Any, obj: Model) -> bool:
    return _allowed(user, obj, DELETE)


def team_users(user: Any, *, active: bool = True) -> QuerySet[User]:
    """The people a user works with, by name: everyone for an admin, the members of the
    user's team otherwise (the user alone without a team). `active=True` for whom a task or
    a record may be given to; False for filters, where a departed member's records stay
    findable until a manager reassigns them. The one definition behind the owner and assignee
    choices of lists, the board and the task forms."""
    users = User.objects.order_by("name", "email")
    if active:
        users = users.filter(is_active=True)
    v = _viewer(user)
    if v is None:
        return users.none()
    if v.is_admin:
        return users
    if user.team_id is None:
        return users.filter(pk=user.pk)
    return users.filter(team_id=user.team_id)


def reassign_targets(user: Any) -> QuerySet[User]:
    """The users `user` may make owner of a record: any active user for an admin, active
    teammates for a manager, nobody for a sales rep."""
    v = _viewer(user)
    active = User.objects.filter(is_active=True)
    if v is None:
        return active.none()
    if v.is_admin:
        return active
    if v.is_manager:
        return active.filter(pk__in=v.team_ids)
    return active.none()


def can_reassign(user: Any, obj: Model, to: User | None = None) -> bool:
    """May `user` change the owner of `obj` (to `to`, when given)? Admins: any record, to any
    active user. Managers: their team's records, to an active member of their team."""
    v = _viewer(user)
    if v is None or not hasattr(obj, "owner_id") or not (v.is_admin or v.is_manager):
        return False
    if to is not None and not to.is_active:
        return False
    if v.is_admin:
        return True
    return obj.owner_id in v.team_ids and (to is None or to.pk in v.team_ids)


def get_object_for_user_or_404(
    request: HttpRequest,
    model_or_qs: type[M] | QuerySet[M],
    pk: Any,
    *,
    for_edit: bool = False,
    for_delete: bool = False,
    kept_as: Hashable | None = None,
) -> M:
    """The object a view works on: 404 when the user may not see it (or it does not exist,
    or `pk` is not even a valid key), so nobody learns what exists; 403 (PermissionDenied)
    when they may see it but not change (`for_edit`) or delete (`for_delete`) it.

    Pass a QuerySet to add `select_related` and the like:
    `get_object_for_user_or_404(request, Deal.objects.select_related("stage"), pk)`.
    `kept_as`: a name for that queryset's shape, the same for the same shape wherever it is
    asked: its query is then compiled once per viewer's rules (crm.kept), as a detail page's
    record is."""
    user = request.user
    # A query of its own, never a subquery: listed_to.
    rules = rules_key(user) if kept_as is not None else None
    kept = None if rules is None else (rules, "object", kept_as)
    model = _as_queryset(model_or_qs).model
    missing = Http404(f"No {model._meta.verbose_name} matches the given query.")
    try:
        pk = model._meta.pk.to_python(pk)  # not even a valid key: 404 like a missing one
    except (ValidationError, ValueError, TypeError):
        raise missing from None
    found = kept_rows(kept, lambda key: listed_to(user, model_or_qs).filter(pk=key), [pk])
    if not found:
        raise missing
    (obj,) = found
    if for_edit and not can_edit(user, obj):
        raise PermissionDenied
    if for_delete and not can_delete(user, obj):
        raise PermissionDenied
    return obj
