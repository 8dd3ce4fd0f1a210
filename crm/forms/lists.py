"""Forms of the list pages: the filter form (GET), the bulk action form and "save this view".

The filter form is the allow-list of the URL: a parameter that is not one of its fields is
ignored, and a value its field refuses is shown as an error on that field and left out of the
query, so a hand-written or stale URL never gives a 500.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.http import QueryDict

from crm import permissions
from crm.forms.choices import ShortModelChoiceField
from crm.lists.custom import custom_field_filters
from crm.lists.filters import Filter, FilterContext, RelatedRecordFilter
from crm.lists.spec import ADD_TAG, ASSIGN_OWNER, SET_STAGE, SET_STATUS, ListSpec
from crm.models import Stage

PER_PAGE_CHOICES = (25, 50, 100)
DEFAULT_PER_PAGE = 50
# A page holds at most 100 rows; more ids than a few pages' worth is not a click on a page.
MAX_BULK_IDS = 500
# Parameters that move through pages rather than describe the view; not saved with it.
PAGING_PARAMS = ("after", "before")


@dataclass(frozen=True)
class ParentChip:
    """An active parent filter as the page shows it: "Company: Acme", with a remove link.
    `record` is None when the id names nothing the user may see; `error` is set when it is no
    id at all."""

    name: str
    label: str
    value: str
    record: Model | None
    error: str


class ListFilterForm(forms.Form):
    """The filters, sort and page size of one entity's list, from `request.GET`."""

    def __init__(self, *, spec: ListSpec, ctx: FilterContext, data: QueryDict) -> None:
        super().__init__(data=data, label_suffix="")
        self.spec = spec
        self.ctx = ctx
        self.filters: list[Filter] = list(spec.filters)
        if spec.custom_fields:
            self.filters += custom_field_filters(spec.key, ctx)
        self.advanced_names: set[str] = set()
        for flt in self.filters:
            fields = flt.form_fields(ctx)
            for form_field in fields.values():
                if isinstance(form_field.widget, forms.Select):
                    # A choice applies as soon as it is picked (static/js/app.js).
                    form_field.widget.attrs["data-autosubmit"] = ""
            self.fields.update(fields)
            if flt.advanced:
                self.advanced_names.update(fields)
        sorts = [(k, k) for k in spec.sorts] + [(f"-{k}", f"-{k}") for k in spec.sorts]
        self.fields["sort"] = forms.ChoiceField(required=False, choices=sorts)
        self.fields["per_page"] = forms.TypedChoiceField(
            required=False,
            coerce=int,
            empty_value=DEFAULT_PER_PAGE,
            choices=[(n, n) for n in PER_PAGE_CHOICES],
        )
        for name in ("sort", "per_page"):
            self.fields[name].widget = forms.HiddenInput()

    @property
    def values(self) -> dict[str, Any]:
        """The accepted values only: a refused parameter is as if it were not given."""
        self.is_valid()
        return self.cleaned_data

    @property
    def active_values(self) -> dict[str, Any]:
        """The filters and sort in force (page size aside): what an export records."""
        return {
            name: value
            for name, value in self.values.items()
            if value not in (None, "", [], False) and name != "per_page"
        }

    @property
    def is_filtered(self) -> bool:
        """Whether any filter narrows the list (the sort does not): the empty state says
        "no match" then, and "none yet" otherwise."""
        return any(name != "sort" for name in self.active_values)

    def primary_fields(self) -> list[forms.BoundField]:
        return [f for f in self.visible_fields() if f.name not in self.advanced_names]

    def advanced_fields(self) -> list[forms.BoundField]:
        return [f for f in self.visible_fields() if f.name in self.advanced_names]

    @property
    def has_advanced_values(self) -> bool:
        return any(self.data.get(name) for name in self.advanced_names)

    @cached_property
    def parent_chips(self) -> list[ParentChip]:
        """The parent filters given in the URL, in the spec's order. The record is the one the
        filter loaded (FilterContext caches it), so the chip costs no query of its own."""
        values = self.values
        chips = []
        for flt in self.filters:
            raw = str(self.data.get(flt.name, "")) if isinstance(flt, RelatedRecordFilter) else ""
            if not raw:
                continue
            pk = values.get(flt.name)
            record = flt.parent(pk, self.ctx) if pk else None
            error = " ".join(self.errors.get(flt.name, []))
            chips.append(ParentChip(flt.name, flt.label, raw, record, error))
        return chips


def view_query(params: QueryDict) -> str:
    """The query string that describes a view: the parameters minus the page position."""
    query = params.copy()
    for name in PAGING_PARAMS:
        query.pop(name, None)
    return query.urlencode()


class BulkActionForm(forms.Form):
    """A bulk action on the selected rows. Which rows may change is the service's check; the
    form only says which action, on which ids (`ids`, read as a list in clean()), with which
    value."""

    action = forms.ChoiceField(choices=())
    owner = ShortModelChoiceField(queryset=None, required=False)
    status = forms.ChoiceField(required=False, choices=())
    stage = ShortModelChoiceField(queryset=Stage.objects.none(), required=False)
    tag = forms.CharField(required=False, max_length=60, strip=True)
    query = forms.CharField(required=False, max_length=2000)  # the list to return to

    REQUIRED = {ASSIGN_OWNER: "owner", SET_STATUS: "status", SET_STAGE: "stage", ADD_TAG: "tag"}

    def __init__(self, *, spec: ListSpec, user: Any, data: QueryDict | None = None) -> None:
        super().__init__(data=data)
        self.spec = spec
        self.fields["action"].choices = [(a, a) for a in spec.bulk_actions]
        self.fields["owner"].queryset = permissions.reassign_targets(user).order_by("name")
        self.fields["status"].choices = [("", "Status…"), *bulk_statuses(spec)]
        if SET_STAGE in spec.bulk_actions:
            self.fields["stage"].queryset = Stage.objects.select_related("pipeline")
        self.selected: list[uuid.UUID] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        ids: list[uuid.UUID] = []
        for value in raw[: MAX_BULK_IDS + 1]:
            try:
                ids.append(uuid.UUID(str(value)))
            except ValueError:
                continue  # a mangled id selects nothing
        if not ids:
            raise forms.ValidationError("Select at least one row.")
        if len(ids) > MAX_BULK_IDS:
            raise forms.ValidationError(f"Select at most {MAX_BULK_IDS} rows at a time.")
        self.selected = list(dict.fromkeys(ids))
        needed = self.REQUIRED.get(data.get("action", ""))
        if needed and not data.get(needed):
            self.add_error(needed, "Choose a value for this action.")
        return data

    def return_query(self) -> str:
        # Re-encoded through QueryDict: whatever was posted comes back as a plain query string
        # that the list page parses against its allow-list again.
        raw = str(self.data.get("query", ""))[:2000].lstrip("?")
        return QueryDict(raw).urlencode()


def bulk_statuses(spec: ListSpec) -> list[tuple[str, str]]:
    if spec.bulk_statuses:
        return list(spec.bulk_statuses)
    try:
        return list(spec.model._meta.get_field("status").choices or [])
    except FieldDoesNotExist:  # documents have no status
        return []


class SavedViewForm(forms.Form):
    """ "Save this view": a name; the list and its query string travel as hidden fields."""

    name = forms.CharField(max_length=80, strip=True)
    query = forms.CharField(required=False, max_length=2000)
