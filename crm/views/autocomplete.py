"""Type-ahead results for related-record fields in forms (crm/forms/widgets.py).

`GET /autocomplete/<entity>/?q=acme` answers the listbox options (an HTML fragment) of the
records the user may see that match; `&for=edit` offers only records they may change, for
fields where linking is a change to the other record (a task's parent).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from crm.entities import ENTITIES
from crm.selectors.autocomplete import AUTOCOMPLETE_LIMIT, SPECS, record_autocomplete
from crm.selectors.search import normalise_query


@login_required
def autocomplete(request: HttpRequest, entity: str) -> HttpResponse:
    # The allow-list: only the entities a form links to, never any model by name.
    if entity not in SPECS:
        raise Http404("No autocomplete for this kind of record.")
    query = normalise_query(request.GET.get("q"))
    # One more than shown: whether more match. For a common string the options are the
    # first by name among the first matches read (crm.selectors.autocomplete); either way the
    # list says more match, so nobody scrolls for the rest.
    options = record_autocomplete(
        user=request.user,
        entity=entity,
        query=query,
        for_edit=request.GET.get("for") == "edit",
        limit=AUTOCOMPLETE_LIMIT + 1,
    )
    more = bool(query) and len(options) > AUTOCOMPLETE_LIMIT
    context = {
        "options": options[:AUTOCOMPLETE_LIMIT],
        "query": query,
        "entity": ENTITIES[entity],
        "more": more,
    }
    return render(request, "crm/partials/_autocomplete_results.html", context)


urlpatterns = [
    path("autocomplete/<str:entity>/", autocomplete, name="autocomplete"),
]
