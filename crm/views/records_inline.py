"""Inline edit of one field on a detail page (htmx): `crm:<entity>.field`.

GET answers the field's form fragment (`?cancel=1`: the display fragment again); POST
validates with the entity's own form restricted to that field and saves through the entity's
update service, answering the display fragment with the messages out of band, or the form
fragment with the field's error. Errors answer 200, not 422: htmx 2 does not swap 4xx
responses by default, and the error fragment is what the user must see.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from crm import permissions
from crm.entities import ENTITIES
from crm.forms.custom_fields import CUSTOM_FIELD_PREFIX
from crm.templatetags.crm_inline import definitions, display, field_url, render_display
from crm.views.records_pages import PAGES


def _display_response(request: HttpRequest, record: Any, field: str, *, oob: bool) -> HttpResponse:
    html = render_display(record, field, can_edit=True, holder=request)
    if oob:
        html += render_to_string("partials/_messages.html", {"oob": True}, request=request)
    return HttpResponse(mark_safe(html))  # noqa: S308 - rendered by escaping templates


@login_required
def record_field(request: HttpRequest, entity: str, pk: Any, field: str) -> HttpResponse:
    pages, ent = PAGES[entity], ENTITIES[entity]
    record = permissions.get_object_for_user_or_404(request, ent.model, pk)
    is_custom = field.startswith(CUSTOM_FIELD_PREFIX)
    if not (field in pages.inline or is_custom):
        raise Http404("This field is not editable in place.")
    if is_custom and field[len(CUSTOM_FIELD_PREFIX) :] not in definitions(request, entity):
        raise Http404("No such custom field.")
    if not permissions.can_edit(request.user, record):
        raise PermissionDenied
    if request.method == "GET" and request.GET.get("cancel"):
        return _display_response(request, record, field, oob=False)
    bound = request.method == "POST"
    try:
        form = pages.form(
            request.POST if bound else None,
            request.FILES if bound else None,
            instance=record,
            user=request.user,
            only=field,
        )
    except KeyError:
        # Not a field of this user's form (a sales rep has no owner field, for one).
        raise Http404("This field is not editable here.") from None
    if bound and form.is_valid():
        try:
            saved = pages.update(user=request.user, data=form.record_data(), **{entity: record})
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            _, label, _ = display(saved, field, request)
            messages.success(request, f"{label[:1].upper()}{label[1:]} saved.")
            return _display_response(request, saved, field, oob=True)
    form[field].field.widget.attrs["autofocus"] = True
    return render(
        request,
        "crm/partials/_field_form.html",
        {
            "form": form,
            "bound_field": form[field],
            "wide": form.wide,
            "dom_id": f"field-{entity}-{record.pk}-{field}",
            "url": field_url(record, field),
            "oob_messages": bound,
        },
    )
