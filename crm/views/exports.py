"""CSV export of a list's current filter: `/<plural>/export/?<the list's query string>`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from crm.entities import ENTITIES
from crm.exports import CONTENT_TYPE, ExportRefused, csv_export_start
from crm.forms.lists import view_query
from crm.lists import get_spec
from crm.views.lists import back_to_list


@login_required
@require_GET
def export_view(request: HttpRequest, key: str) -> HttpResponse:
    spec = get_spec(key)
    try:
        export = csv_export_start(user=request.user, spec=spec, params=request.GET)
    except ExportRefused:
        # Back to the list with the same parameters: it shows each refused one on its field.
        messages.error(request, "Nothing was exported: correct the filters marked below first.")
        return back_to_list(key, view_query(request.GET))
    response = StreamingHttpResponse(export.chunks(), content_type=CONTENT_TYPE)
    response.headers["Content-Disposition"] = content_disposition_header(True, export.filename)
    # Customer data: no shared cache keeps a copy.
    response.headers["Cache-Control"] = "private, no-store"
    return response


urlpatterns = [
    path(f"{entity.plural}/export/", export_view, {"key": key}, name=f"{key}.export")
    for key, entity in ENTITIES.items()
]
