"""Reads of the list pages, already narrowed to what the user may see (crm.permissions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict

from crm import permissions
from crm.forms.lists import ListFilterForm
from crm.lists import engine
from crm.lists.filters import FilterContext
from crm.lists.spec import ListSpec
from crm.models import SavedView


def owner_choices(*, user: Any) -> list[tuple[str, str]]:
    """The people an owner or assignee filter offers: everyone for an admin, the user's team
    (deactivated members too: their records stay with the team) for everyone else. One query.
    Other owners a user sees (a watched record's) are not listed; "me" is added by the filter.
    """
    users = permissions.team_users(user, active=False).only("id", "name", "email")
    return [(str(u.pk), str(u)) for u in users if u.pk != user.pk]


def saved_views_for(*, user: Any, entity: str) -> QuerySet[SavedView]:
    """The user's own saved views of one list, by name (served by the index of the unique
    (owner, entity, name) constraint)."""
    return SavedView.objects.filter(owner=user, entity=entity).order_by("name")


@dataclass
class RecordList:
    form: ListFilterForm
    page: engine.ListPage
    editable_ids: set[Any]


def record_list(*, user: Any, spec: ListSpec, params: QueryDict) -> RecordList:
    """One page of the `spec` entity's list for `user`, filtered, sorted and paged by `params`
    (request.GET) as far as the spec allows, plus which of its rows the user may change (one
    query for the whole page, so each row can show an enabled or disabled checkbox).

    A bounded number of queries whatever the page size: filter options and custom field
    definitions once, the count estimate, the rows, the related records the columns name
    that the user may see (one query for every model of them), the editable ids.
    """
    ctx = FilterContext(user)
    form = ListFilterForm(spec=spec, ctx=ctx, data=params)
    # The top of the row query: a kept compiled rule for tasks and documents (listed_to).
    visible = permissions.listed_to(user, spec.model)
    page = engine.run(
        spec,
        visible,
        form,
        ctx,
        after=params.get("after"),
        before=params.get("before"),
    )
    # Related records read after the rows; those the user may not see are not named.
    engine.attach_relations(spec, user, page.rows)
    return RecordList(form=form, page=page, editable_ids=permissions.editable_ids(user, page.rows))
