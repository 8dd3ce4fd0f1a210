"""Choosing a related record (a contact's company, a task's deal) without listing them all.

`RecordChoiceField` is a ModelChoiceField over a queryset the form has already limited to what
the user may see or change (crm.permissions); it validates the posted id against that queryset
like any ModelChoiceField, so an invisible or malformed id is a field error. Its widget,
`RecordAutocompleteWidget`, decides how to render when it renders (a form that is only
validated costs nothing extra):

- one query asks whether the queryset holds a row beyond `select_limit` (unordered, LIMIT 1
  OFFSET select_limit; never a COUNT over a big table). When it does not, a second reads them
  (ids and label columns, in the form's order) as the options of a plain `<select>`: no
  script needed, and small installs keep a simple UI;
- otherwise a type-ahead: a search input (labelled by the field's label) that asks
  `crm:autocomplete` for matches as the user types, a hidden input carrying the chosen id, and
  a listbox of results; static/js/autocomplete.js moves through and picks the options. The
  current value's label costs one more query (the selected row only), none without a value.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from crm.entities import ENTITIES
from crm.selectors.autocomplete import ENTITY_OF_MODEL, SPECS, AutocompleteSpec, record_label


class RecordAutocompleteWidget(forms.Widget):
    """A `<select>` for a few records, a type-ahead for many (see the module docstring)."""

    # The project's templates directory, not the form renderer's (which only sees apps').
    template_name = "crm/partials/_autocomplete_widget.html"
    # Up to this many choices render as a <select>; tests lower it instead of creating rows.
    select_limit: ClassVar[int] = 200

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        # ModelChoiceField puts its ModelChoiceIterator here (it knows the field).
        self.choices: Any = ()

    @property
    def record_field(self) -> RecordChoiceField:
        return self.choices.field

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        field = self.record_field
        few = field.few_choices(self.select_limit)
        if few is not None:
            select = forms.Select(attrs=self.attrs, choices=few)
            select.is_required = self.is_required
            return select.render(name, value, attrs, renderer)
        context = self.get_context(name, value, attrs)
        return mark_safe(render_to_string(self.template_name, context))  # noqa: S308 - escaped

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        field = self.record_field
        label = field.selected_label(value)
        widget = context["widget"]
        # A posted id that matches no offered record is dropped: the field shows empty, with
        # its "Select a valid choice" error, rather than a value nobody can see.
        widget["value"] = widget["value"] if label else ""
        widget["label"] = label
        widget["url"] = field.autocomplete_url()
        widget["listbox_id"] = f"{widget['attrs'].get('id') or name}_listbox"
        widget["plural"] = ENTITIES[field.entity].label_plural
        return context


class RecordChoiceField(forms.ModelChoiceField):
    """A related record, chosen among `queryset` (already limited to what the user may see
    or change); `entity` names the autocomplete (crm.selectors.autocomplete.SPECS) and
    defaults from the queryset's model; `for_edit` asks it for changeable records only."""

    widget = RecordAutocompleteWidget

    def __init__(
        self,
        queryset: QuerySet,
        *,
        entity: str | None = None,
        for_edit: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(queryset, **kwargs)
        self.entity = entity or ENTITY_OF_MODEL[queryset.model]
        self.for_edit = for_edit

    @property
    def spec(self) -> AutocompleteSpec:
        return SPECS[self.entity]

    def label_from_instance(self, obj: Model) -> str:
        return record_label(obj)

    def to_python(self, value: Any) -> Model | None:
        try:
            return super().to_python(value)
        except ValidationError as exc:
            # A malformed id ("not a valid UUID") is one more choice that is not offered.
            if exc.code == "invalid_choice":
                raise
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from None

    def _labelled(self) -> QuerySet:
        return self.queryset.only(*self.spec.label_columns)

    def few_choices(self, limit: int) -> list[tuple[Any, str]] | None:
        """The select's options when the queryset has at most `limit` rows, else None.

        First whether a row lies beyond `limit`, asked without an order (LIMIT 1 OFFSET
        limit, read in whatever order an index of the filter gives): in the queryset's order
        that was a sort of every matching row to cut the first limit + 1, 16 ms for a rep's
        11,764 own leads on a document's link form at 1M contacts. Only when there are few
        are they read, in order: two small queries then, one when there are many."""
        if self.queryset.order_by()[limit : limit + 1].exists():
            return None
        rows = list(self._labelled()[:limit])
        empty = [] if self.empty_label is None else [("", self.empty_label)]
        return empty + [(self.prepare_value(obj), self.label_from_instance(obj)) for obj in rows]

    def selected_label(self, value: Any) -> str:
        """The label of the record `value` names, if the queryset offers it ("" otherwise)."""
        if value in self.empty_values:
            return ""
        try:
            obj = next(iter(self._labelled().filter(pk=value).order_by()[:1]), None)
        except (ValueError, TypeError, ValidationError):
            return ""
        return "" if obj is None else record_label(obj)

    def autocomplete_url(self) -> str:
        url = reverse("crm:autocomplete", args=[self.entity])
        return f"{url}?for=edit" if self.for_edit else url
