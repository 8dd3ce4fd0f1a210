"""Downloading a document's file: only to users who may see the document."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect

from crm import permissions
from crm.models import Document

# The file is the uploader's content, not ours: never rendered in our origin's context.
DOWNLOAD_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"


@login_required
def document_download(request: HttpRequest, pk: Any) -> HttpResponse:
    """The stored file as an attachment with its sniffed type, or a redirect to an external
    http(s) URL. MEDIA_URL is never served directly (config/urls.py has no media route)."""
    document = permissions.get_object_for_user_or_404(request, Document, pk)
    if not document.file:
        if document.url.lower().startswith(("http://", "https://")):
            return HttpResponseRedirect(document.url)
        raise Http404("This document has no file.")
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404("The stored file is missing.") from None
    filename = document.file.name.rsplit("/", 1)[-1]
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=filename,
        content_type=document.mime_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    # Per user: a shared cache must not hand one user's permitted file to another.
    response["Cache-Control"] = "private, no-store"
    return response
