"""Global search: the header's dropdown (htmx) and the full results page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from crm.selectors.search import global_search, normalise_query, search_url

# The dropdown shows the top few per type; the page more.
DROPDOWN_PER_TYPE = 5
PAGE_PER_TYPE = 25


@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = normalise_query(request.GET.get("q"))
    if request.htmx:
        results = global_search(user=request.user, query=query, limit_per_type=DROPDOWN_PER_TYPE)
        context = {"results": results, "see_all_url": search_url(query)}
        return render(request, "crm/partials/_search_results.html", context)
    results = global_search(user=request.user, query=query, limit_per_type=PAGE_PER_TYPE)
    context = {"results": results, "search_query": query, "per_type": PAGE_PER_TYPE}
    return render(request, "crm/search.html", context)


urlpatterns = [
    path("search/", search, name="search"),
]
