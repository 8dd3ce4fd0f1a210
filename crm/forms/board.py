"""The pipeline board's move form: one card's "Move to" select, also what a drag posts."""

from __future__ import annotations

from django import forms

from crm.forms.choices import ShortModelChoiceField
from crm.models import Stage


class MoveDealForm(forms.Form):
    # Any stage is accepted here; the service refuses one of another pipeline, so a crafted
    # POST gets the same message as the form would.
    stage = ShortModelChoiceField(queryset=Stage.objects.all(), label="Move to")
    # The board's owner filter, carried through so the re-rendered board keeps it.
    owner = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
