"""The pickers of the detail pages' link forms: add a contact to a deal, link a document to a
record. They only render (crm/views/links.py loads the posted ids through the visibility
layer itself, so an invisible id is a 404 like anywhere else); the queryset limits what the
picker offers and costs one query when the form renders, none before."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Model

from accounts.models import User
from crm import permissions
from crm.forms.widgets import RecordChoiceField
from crm.models import Company, Contact, Contract, Deal, Lead
from crm.selectors.autocomplete import SPECS

# Entities a document can be linked to from its page (they have a type-ahead), -> model.
# Tasks can be unlinked there but not picked: there is no task autocomplete.
DOCUMENT_LINK_ENTITIES: dict[str, type[Model]] = {
    "company": Company,
    "contact": Contact,
    "lead": Lead,
    "deal": Deal,
    "contract": Contract,
}


class DealContactForm(forms.Form):
    """ "Add contact" on a deal's Contacts panel: any contact the user may see."""

    collapsed = False
    submit_label = "Add"

    def __init__(self, *args: Any, user: User, deal: Deal, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"deal-contact-%s-{deal.pk}")
        super().__init__(*args, **kwargs)
        contacts = permissions.visible_to(user, Contact).order_by("last_name", "first_name")
        self.fields["contact"] = RecordChoiceField(contacts, label="Add contact")


class DocumentLinkForm(forms.Form):
    """ "Link to" on a document's panel of one entity: records the user may change, because
    attaching a document changes the record."""

    collapsed = True

    def __init__(self, *args: Any, user: User, entity: str, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"document-link-{entity}-%s")
        super().__init__(*args, **kwargs)
        model = DOCUMENT_LINK_ENTITIES[entity]
        label = model._meta.verbose_name
        self.summary = f"Link to a {label}"
        self.submit_label = "Link"
        self.fields["entity"] = forms.CharField(widget=forms.HiddenInput, initial=entity)
        records = permissions.editable_by(user, model).order_by(*SPECS[entity].order)
        self.fields["record"] = RecordChoiceField(
            records, entity=entity, for_edit=True, label=str(label).capitalize()
        )
