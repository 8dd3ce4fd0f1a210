"""The base of every create / edit form of the sales workspace, and the pieces it shares.

`RecordForm` is a ModelForm with the custom fields of its entity (CustomFieldsFormMixin), the
`user` it is built for, fieldsets for the page, and every choice of a related record limited
to what that user may see (or change, where linking is a change to the other record). The
entity forms live by area: `records_parties` (company, contact, lead), `records_deals` (deal,
contract), `records_work` (task, document).

Links to CRM records are `RecordChoiceField`s (crm/forms/widgets.py): a `<select>` while the
records offered are few, a type-ahead over `crm:autocomplete` when they are many.

`only="<field>"` builds the same form restricted to one field, for inline edit: the other
custom fields keep their stored values, so validating one never drops the rest.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import QuerySet

from accounts.models import User
from crm import permissions
from crm.forms.custom_fields import CustomFieldsFormMixin, custom_field_name
from crm.forms.widgets import RecordChoiceField
from crm.selectors.autocomplete import ENTITY_OF_MODEL

TAG_MAX = 60
DATETIME_INPUT_FORMAT = "%Y-%m-%dT%H:%M"


class TagsField(forms.CharField):
    """Tags typed as "a, b, c", kept as a list: trimmed, empties dropped, duplicates (in any
    letter case) dropped, order kept."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Separate tags with commas.")
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list | tuple):
            parts = [str(v) for v in value]
        else:
            parts = str(value or "").split(",")
        tags: dict[str, str] = {}
        for part in parts:
            # PostgreSQL text cannot hold NUL; Django's own check runs on str(list), which
            # escapes it, so it is refused here (a field error, not a database error).
            if "\x00" in part:
                raise ValidationError("Tags cannot contain null characters.")
            tag = " ".join(part.split())
            if tag and tag.lower() not in tags:
                tags[tag.lower()] = tag
        too_long = [tag for tag in tags.values() if len(tag) > TAG_MAX]
        if too_long:
            raise ValidationError(
                f"Tags are at most {TAG_MAX} characters: “{too_long[0][:20]}…” is longer."
            )
        return list(tags.values())


def formfield_for(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    """Native date and date-time pickers, https for scheme-less URLs, and a select-or-type-ahead
    for links to CRM records, which can be too many to list (Meta.formfield_callback)."""
    related = db_field.related_model if isinstance(db_field, models.ForeignKey) else None
    if related in ENTITY_OF_MODEL:
        kwargs.update(form_class=RecordChoiceField, entity=ENTITY_OF_MODEL[related])
    elif isinstance(db_field, models.DateTimeField):
        kwargs["widget"] = forms.DateTimeInput(
            attrs={"type": "datetime-local"}, format=DATETIME_INPUT_FORMAT
        )
    elif isinstance(db_field, models.DateField):
        kwargs["widget"] = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    elif isinstance(db_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class RecordMeta:
    """What every entity form's Meta shares: `class Meta(RecordMeta): model = ...`."""

    formfield_callback = staticmethod(formfield_for)


def with_current(queryset: QuerySet, current_pk: Any) -> QuerySet:
    """`queryset` plus the record already chosen, so editing a record whose link the user can
    no longer see does not silently drop the link."""
    if current_pk is None:
        return queryset
    return queryset | queryset.model._default_manager.filter(pk=current_pk)


class RecordForm(CustomFieldsFormMixin, forms.ModelForm):
    """A create / edit form of one CRM record, built for `user`.

    Subclasses declare `fieldsets` (legend, field names) and `linked` (foreign key -> "view" or
    "edit": the records offered are those the user may see, or change). `owner`, when listed,
    is offered only to users who may reassign: `reassign_targets(user)` plus the current owner.
    """

    fieldsets: ClassVar[list[tuple[str, list[str]]]] = []
    linked: ClassVar[dict[str, str]] = {}
    # Labels of required fields get this class; the stylesheet marks them with an asterisk
    # (the inputs carry `required` for assistive technology).
    required_css_class = "required"
    # Fields that take the whole width of the two-column grid.
    wide: ClassVar[set[str]] = {"description", "body", "tags", "name", "title"}
    # The order choices are listed in, per related model.
    choice_order: ClassVar[dict[str, tuple[str, ...]]] = {
        "company": ("name",),
        "contact": ("last_name", "first_name"),
        "lead": ("last_name", "first_name"),
        "deal": ("name",),
        "contract": ("title",),
    }

    def __init__(self, *args: Any, user: User, only: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.user = user
        for field in self.fields.values():
            # Callable model defaults (currency) would add a hidden "initial-" twin input.
            field.show_hidden_initial = False
        self.only = only
        self._setup_owner()
        for name, action in self.linked.items():
            self._limit_to_records(name, action)
        self.setup_choices()
        if only is not None:
            self._restrict_to(only)

    # --- choices ----------------------------------------------------------------------------

    def setup_choices(self) -> None:
        """Hook for lookups and entity-specific choices (called before `only` restricts)."""

    def _setup_owner(self) -> None:
        if "owner" not in self.fields:
            return
        current = self.instance.owner_id
        adding = self.instance._state.adding
        may_pick = (
            permissions.reassign_targets(self.user).exists()
            if adding
            else permissions.can_reassign(self.user, self.instance)
        )
        if not may_pick:
            # Sales reps never pick an owner: new records are theirs, old ones keep theirs.
            del self.fields["owner"]
            return
        field = self.fields["owner"]
        field.queryset = with_current(permissions.reassign_targets(self.user), current).order_by(
            "name", "email"
        )
        field.required = adding or current is not None
        if adding:
            self.initial.setdefault("owner", self.user.pk)

    def _limit_to_records(self, name: str, action: str) -> None:
        field = self.fields.get(name)
        if field is None:
            return
        model = field.queryset.model
        base = model._default_manager.all()
        allowed = (
            permissions.editable_by(self.user, base)
            if action == "edit"
            else permissions.visible_to(self.user, base)
        )
        order = self.choice_order.get(model._meta.model_name, ())
        field.queryset = with_current(allowed, getattr(self.instance, f"{name}_id", None))
        if order:
            field.queryset = field.queryset.order_by(*order)
        if isinstance(field, RecordChoiceField):
            # The type-ahead offers the same records the queryset accepts.
            field.for_edit = action == "edit"

    def limit_lookup(self, name: str, queryset: QuerySet) -> None:
        """Active lookup rows only, plus the one already chosen."""
        if name in self.fields:
            current = getattr(self.instance, f"{name}_id", None)
            self.fields[name].queryset = with_current(queryset.filter(is_active=True), current)

    # --- inline edit: one field -------------------------------------------------------------

    def _restrict_to(self, only: str) -> None:
        if only not in self.fields:
            raise KeyError(only)
        self.fields = {only: self.fields[only]}
        # The custom fields not being edited keep their stored values (see clean()).
        stored = self.instance.custom_fields or {}
        self._kept_custom_values = {
            custom_field_name(key): stored.get(key)
            for key in self.custom_field_definitions
            if custom_field_name(key) != only
        }

    def clean(self) -> dict[str, Any]:
        if self.only is not None:
            for name, value in self._kept_custom_values.items():
                self.cleaned_data.setdefault(name, value)
        return super().clean()

    def field_label(self, name: str) -> str:
        try:
            return str(self._meta.model._meta.get_field(name).verbose_name).capitalize()
        except FieldDoesNotExist:
            return name

    # --- what the service gets --------------------------------------------------------------

    def record_data(self) -> dict[str, Any]:
        """The cleaned values of the model's fields in this form, plus the custom fields (all
        of them, merged), ready for `<entity>_create` / `<entity>_update`."""
        names = {f.name for f in self._meta.model._meta.get_fields() if f.concrete}
        data = {name: self.cleaned_data[name] for name in self.fields if name in names}
        data["custom_fields"] = self.instance.custom_fields
        return data

    # --- rendering --------------------------------------------------------------------------

    def grouped_fields(self) -> list[tuple[str, list[forms.BoundField]]]:
        """Fieldsets for the template: the declared groups, then any field left over, then the
        custom fields."""
        custom = set(self.custom_field_names)
        placed: set[str] = set()
        groups: list[tuple[str, list[forms.BoundField]]] = []
        for legend, names in self.fieldsets:
            present = [n for n in names if n in self.fields]
            placed.update(present)
            if present:
                groups.append((legend, [self[n] for n in present]))
        rest = [n for n in self.fields if n not in placed and n not in custom]
        if rest:
            groups.append(("More", [self[n] for n in rest]))
        if custom & set(self.fields):
            groups.append(("Custom fields", [self[n] for n in self.custom_field_names]))
        return groups


def fields_of(fieldsets: list[tuple[str, list[str]]]) -> list[str]:
    """Meta.fields from the fieldsets, so the two never disagree."""
    return [name for _, names in fieldsets for name in names]
