"""List pages with filters, sorting, keyset pagination, bulk actions and saved views."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    QueryDict,
)
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from crm.entities import ENTITIES
from crm.forms.lists import BulkActionForm, SavedViewForm, bulk_statuses, view_query
from crm.lists import get_spec
from crm.models import SavedView
from crm.selectors.lists import record_list, saved_views_for
from crm.services.bulk import bulk_action_run
from crm.services.saved_views import saved_view_create, saved_view_delete

FRAGMENT = "crm/partials/_list_fragment.html"


def back_to_list(key: str, query: str) -> HttpResponseRedirect:
    """To the list page with these parameters (its form then shows any errors on them)."""
    url = reverse(f"crm:{key}.list")
    return HttpResponseRedirect(f"{url}?{query}" if query else url)


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@login_required
@require_GET
def list_view(request: HttpRequest, key: str) -> HttpResponse:
    spec = get_spec(key)
    result = record_list(user=request.user, spec=spec, params=request.GET)
    context = {
        "spec": spec,
        "entity": ENTITIES[key],
        "result": result,
        "page": result.page,
        "form": result.form,
        "bulk_form": BulkActionForm(spec=spec, user=request.user),
        "bulk_statuses": bulk_statuses(spec),
        "view_query": view_query(request.GET),
    }
    # htmx (filter form, header and page links) swaps the table; a plain request gets the
    # whole page. Either way the URL holds the whole view.
    if request.htmx and not request.htmx.boosted:
        return render(request, FRAGMENT, context)
    context["saved_views"] = saved_views_for(user=request.user, entity=key)
    return render(request, "crm/list.html", context)


@login_required
@require_POST
def bulk_view(request: HttpRequest, key: str) -> HttpResponse:
    spec = get_spec(key)
    form = BulkActionForm(spec=spec, user=request.user, data=request.POST)
    if not form.is_valid():
        errors = [e for field in form.errors.values() for e in field]
        messages.error(request, " ".join(errors) or "That action could not run.")
        return back_to_list(key, form.return_query())
    action = form.cleaned_data["action"]
    value = {"assign_owner": "owner", "set_status": "status", "set_stage": "stage"}.get(action)
    value = form.cleaned_data.get(value or "tag")
    try:
        verb, result = bulk_action_run(
            user=request.user, model=spec.model, action=action, ids=form.selected, value=value
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "You may not do that.")
    else:
        level = messages.success if result.changed else messages.warning
        level(request, result.message(verb, spec.model))
    return back_to_list(key, form.return_query())


@login_required
@require_POST
def savedview_create(request: HttpRequest) -> HttpResponse:
    entity = request.POST.get("entity", "")
    if entity not in ENTITIES:
        return HttpResponseBadRequest("No such list.")
    form = SavedViewForm(request.POST)
    query = view_query(QueryDict(form.data.get("query", "")[:2000].lstrip("?")))
    if not form.is_valid():
        messages.error(request, "Give the view a name (up to 80 characters).")
        return back_to_list(entity, query)
    try:
        view = saved_view_create(
            user=request.user, entity=entity, name=form.cleaned_data["name"], query=query
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return back_to_list(entity, query)
    messages.success(request, f"Saved the view “{view.name}”.")
    return back_to_list(entity, view.query)


@login_required
@require_POST
def savedview_delete(request: HttpRequest, pk: str) -> HttpResponse:
    # Someone else's view answers 404, like a record one may not see.
    view = get_object_or_404(SavedView, pk=pk, owner=request.user)
    saved_view_delete(user=request.user, view=view)
    messages.success(request, f"Deleted the view “{view.name}”.")
    return back_to_list(view.entity, "")


def _list_urls() -> list:
    urls = []
    for key, entity in ENTITIES.items():
        urls.append(path(f"{entity.plural}/", list_view, {"key": key}, name=f"{key}.list"))
        urls.append(path(f"{entity.plural}/bulk/", bulk_view, {"key": key}, name=f"{key}.bulk"))
    return urls


urlpatterns = [
    *_list_urls(),
    path("views/new/", savedview_create, name="savedview.create"),
    path("views/<uuid:pk>/delete/", savedview_delete, name="savedview.delete"),
]
