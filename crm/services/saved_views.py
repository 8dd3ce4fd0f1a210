"""Saved list views: a user's named filter sets, private to them."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import QueryDict

from accounts.models import User
from crm.forms.lists import view_query
from crm.lists import SPECS
from crm.models import SavedView

MAX_VIEWS_PER_LIST = 50


@transaction.atomic
def saved_view_create(*, user: User, entity: str, name: str, query: str) -> SavedView:
    """Save `query` (a list page's query string) as `user`'s view `name` of `entity`'s list.

    Saving under a name the user already has for that list replaces its query, as "save"
    does in most apps. The query is re-encoded and loses its page position (the cursor), so
    the view always opens on its first page; its parameters are checked against the list's
    allow-list each time it is opened, not here.
    """
    if entity not in SPECS:
        raise ValidationError({"entity": "No such list."})
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Give the view a name."})
    query = view_query(QueryDict(query.lstrip("?")))
    existing = SavedView.objects.filter(owner=user, entity=entity, name=name).first()
    if existing is not None:
        existing.query = query
        existing.full_clean()
        existing.save(update_fields=["query"])
        return existing
    if SavedView.objects.filter(owner=user, entity=entity).count() >= MAX_VIEWS_PER_LIST:
        raise ValidationError({"name": f"A list keeps at most {MAX_VIEWS_PER_LIST} views."})
    view = SavedView(owner=user, entity=entity, name=name, query=query)
    view.full_clean()
    view.save()
    return view


@transaction.atomic
def saved_view_delete(*, user: User, view: SavedView) -> None:
    """Delete `view`; only its owner may (PermissionDenied otherwise)."""
    if view.owner_id != user.pk:
        raise PermissionDenied("You may delete only your own views.")
    view.delete()
