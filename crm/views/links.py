"""Linking existing records to each other from a detail page (a deal's contacts, a document's
records).

POST only. The deal or document is loaded for edit (404 when invisible, 403 when read-only),
the other side through the visibility layer (404 when invisible or not a valid id); the rules
are crm/services/links.py's. htmx gets the panel again with the messages out of band; a plain
post is redirected back to the page (post/redirect/get) with a message.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from crm import permissions
from crm.entities import ENTITIES
from crm.forms.links import DOCUMENT_LINK_ENTITIES
from crm.models import Contact, Deal, Document
from crm.selectors.panels import DOCUMENT_PANEL_ENTITIES, related_panel
from crm.services import links as services

# entity -> the document panel that lists it (the panels' keys are the many-to-many names).
_DOCUMENT_PANELS = {entity: key for key, entity in DOCUMENT_PANEL_ENTITIES.items()}


def _other_side(request: HttpRequest, model: type[Model], pk: Any) -> Model | None:
    """The record named by a posted or routed id, if the user may see it (else 404); None
    when no id was given (a form submitted without a choice)."""
    if not pk:
        return None
    return permissions.get_object_for_user_or_404(request, model, pk)


def _apply(request: HttpRequest, service: Any, done: str, unchanged: str, **kwargs: Any) -> None:
    try:
        changed = service(user=request.user, **kwargs)
    except (PermissionDenied, ValidationError) as error:
        # The deal or document was checked already: this is the other side refusing.
        text = error.messages[0] if isinstance(error, ValidationError) else str(error)
        messages.error(request, text or "You may not change that record.")
    else:
        messages.success(request, done if changed else unchanged)


def _respond(request: HttpRequest, record: Model, panel_key: str) -> HttpResponse:
    if request.htmx:
        panel = related_panel(request.user, record, panel_key, can_add=True)
        return render(request, "crm/partials/_panel_fragment.html", {"panel": panel, "oob": True})
    return redirect(f"{record.get_absolute_url()}#panel-{panel_key}")


@login_required
@require_POST
def deal_contact_add(request: HttpRequest, pk: Any) -> HttpResponse:
    deal = permissions.get_object_for_user_or_404(request, Deal, pk, for_edit=True)
    contact = _other_side(request, Contact, request.POST.get("contact"))
    if contact is None:
        messages.error(request, "Choose a contact to add.")
    else:
        _apply(
            request,
            services.deal_add_contact,
            f"{contact} added to the deal.",
            f"{contact} is already on the deal.",
            deal=deal,
            contact=contact,
        )
    return _respond(request, deal, "contacts")


@login_required
@require_POST
def deal_contact_remove(request: HttpRequest, pk: Any, contact: Any) -> HttpResponse:
    deal = permissions.get_object_for_user_or_404(request, Deal, pk, for_edit=True)
    person = _other_side(request, Contact, contact)
    _apply(
        request,
        services.deal_remove_contact,
        f"{person} removed from the deal.",
        f"{person} was not on the deal.",
        deal=deal,
        contact=person,
    )
    return _respond(request, deal, "contacts")


@login_required
@require_POST
def document_link(request: HttpRequest, pk: Any) -> HttpResponse:
    document = permissions.get_object_for_user_or_404(request, Document, pk, for_edit=True)
    entity = request.POST.get("entity", "")
    if entity not in DOCUMENT_LINK_ENTITIES:
        raise Http404("A document links to companies, contacts, leads, deals and contracts.")
    record = _other_side(request, DOCUMENT_LINK_ENTITIES[entity], request.POST.get("record"))
    if record is None:
        messages.error(request, f"Choose a {ENTITIES[entity].label} to link to.")
    else:
        _apply(
            request,
            services.document_link,
            f"Linked to {record}.",
            f"Already linked to {record}.",
            document=document,
            record=record,
        )
    return _respond(request, document, _DOCUMENT_PANELS[entity])


@login_required
@require_POST
def document_unlink(request: HttpRequest, pk: Any, entity: str, record: Any) -> HttpResponse:
    document = permissions.get_object_for_user_or_404(request, Document, pk, for_edit=True)
    if entity not in _DOCUMENT_PANELS:
        raise Http404("Not a kind of record a document is linked to.")
    linked = _other_side(request, ENTITIES[entity].model, record)
    _apply(
        request,
        services.document_unlink,
        f"Unlinked from {linked}.",
        f"Was not linked to {linked}.",
        document=document,
        record=linked,
    )
    return _respond(request, document, _DOCUMENT_PANELS[entity])


urlpatterns = [
    path("deals/<uuid:pk>/contacts/add/", deal_contact_add, name="deal.contact_add"),
    path(
        "deals/<uuid:pk>/contacts/<uuid:contact>/remove/",
        deal_contact_remove,
        name="deal.contact_remove",
    ),
    path("documents/<uuid:pk>/links/add/", document_link, name="document.link"),
    path(
        "documents/<uuid:pk>/links/<str:entity>/<uuid:record>/remove/",
        document_unlink,
        name="document.unlink",
    ),
]
