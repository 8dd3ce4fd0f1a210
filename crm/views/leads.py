"""Lead conversion."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from crm.forms.leads import LeadConvertForm
from crm.models import Lead
from crm.permissions import get_object_for_user_or_404
from crm.services.leads import lead_convert


def _add_errors(form: LeadConvertForm, error: ValidationError) -> None:
    """A service's ValidationError on the form: field errors where the form has the field
    (the contact's `position`, a deal's `stage`), the rest at the top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


@login_required
def convert(request: HttpRequest, pk: Any) -> HttpResponse:
    lead = get_object_for_user_or_404(
        request, Lead.objects.select_related("converted_contact"), pk, for_edit=True
    )
    form = LeadConvertForm(request.POST or None, user=request.user, lead=lead)
    if request.method == "POST" and form.is_valid():
        try:
            result = lead_convert(user=request.user, lead=lead, **form.service_kwargs())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            target = result.deal or result.contact
            messages.success(
                request,
                f"Converted {lead} into contact “{result.contact}”"
                + (f" and deal “{result.deal}”." if result.deal else "."),
            )
            return redirect(target.get_absolute_url())
    status = 400 if form.errors else 200
    return render(request, "crm/lead_convert.html", {"lead": lead, "form": form}, status=status)


urlpatterns = [
    path("leads/<uuid:pk>/convert/", convert, name="lead.convert"),
]
