"""List pages: a declarative spec per entity (registry.py) and one engine (engine.py).

spec = get_spec("deal")    # columns, sorts, filters, select_related/only, bulk actions
page = engine.run(spec, Deal.objects.visible_to(user), form, ctx, after=cursor)
"""

from __future__ import annotations

from django.http import Http404

from crm.lists.registry import SPECS
from crm.lists.spec import Column, ListSpec

__all__ = ["SPECS", "Column", "ListSpec", "get_spec"]


def get_spec(key: str) -> ListSpec:
    """The spec of entity `key`; 404 for anything else (keys come from the URL conf)."""
    try:
        return SPECS[key]
    except KeyError:
        raise Http404("No such list.") from None
