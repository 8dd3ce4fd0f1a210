"""Filters for admin-defined custom fields, one set per definition, by the field's type.

Parameter names are `cf_<key>` (and `cf_<key>__min` / `__max` / `__exact`); keys match
`^[a-z][a-z0-9_]*$` (a database constraint), so a parameter name is never ambiguous.
Equality filters are JSONB containment, `custom_fields @> '{"key": value}'`, which the
`<model>_cf_gin` jsonb_path_ops index serves; ranges and "contains text" read the key's value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import DecimalField, Func, QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform

from crm.custom_fields import definitions_for
from crm.forms.custom_fields import custom_field_name
from crm.lists.filters import ANY, Filter, FilterContext, _date_input
from crm.models import CustomFieldDefinition

FieldType = CustomFieldDefinition.FieldType
TEXT_TYPES = (FieldType.TEXT, FieldType.LONG_TEXT, FieldType.URL, FieldType.EMAIL)


class NumericOrNull(Func):
    """The text as numeric when it is a number, else NULL: decimals are stored as canonical
    strings, and a malformed value written around the app must not turn a filter into a
    database error."""

    output_field = DecimalField()
    # Exponents up to three digits: numeric holds them; 1E+999999 would overflow the cast.
    NUMBER = r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,3})?$"

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"(CASE WHEN {sql} ~ %s THEN ({sql})::numeric END)",
            [*params, self.NUMBER, *params],
        )


def _decimal(label: str) -> forms.DecimalField:
    # Bounded, so "1e999999" is a form error rather than a numeric overflow in the database.
    return forms.DecimalField(label=label, required=False, max_digits=30, decimal_places=10)


@dataclass(frozen=True)
class CustomFieldFilter(Filter):
    """The filters of one custom field definition."""

    definition: CustomFieldDefinition | None = None

    @property
    def key(self) -> str:
        return self.definition.key

    def form_fields(self, ctx: FilterContext) -> dict[str, forms.Field]:
        d, name, label = self.definition, self.name, self.label
        kind = d.field_type
        if kind in TEXT_TYPES:
            return {
                name: forms.CharField(label=f"{label} contains", required=False, max_length=200),
                f"{name}__exact": forms.CharField(
                    label=f"{label} is", required=False, max_length=200
                ),
            }
        if kind == FieldType.NUMBER:
            return {
                f"{name}__min": forms.IntegerField(label=f"{label} from", required=False),
                f"{name}__max": forms.IntegerField(label=f"{label} to", required=False),
            }
        if kind == FieldType.DECIMAL:
            return {
                f"{name}__min": _decimal(f"{label} from"),
                f"{name}__max": _decimal(f"{label} to"),
            }
        if kind == FieldType.DATE:
            return {
                f"{name}__min": _date_input(f"{label} from"),
                f"{name}__max": _date_input(f"{label} to"),
            }
        if kind == FieldType.BOOLEAN:
            choices = [ANY, ("yes", "Yes"), ("no", "No")]
            return {name: forms.ChoiceField(label=label, required=False, choices=choices)}
        # choice and multi-choice: one of the defined values.
        choices = [ANY, *((c, c) for c in d.choices)]
        return {name: forms.ChoiceField(label=label, required=False, choices=choices)}

    def apply(self, qs: QuerySet, data: dict[str, Any], ctx: FilterContext) -> QuerySet:
        kind, key, name = self.definition.field_type, self.key, self.name
        value = data.get(name)
        low, high = data.get(f"{name}__min"), data.get(f"{name}__max")
        if kind in TEXT_TYPES:
            if value:
                text = KeyTextTransform(key, "custom_fields")
                qs = qs.alias(**{f"_cf_{key}": text}).filter(**{f"_cf_{key}__icontains": value})
            exact = data.get(f"{name}__exact")
            if exact:
                qs = qs.filter(custom_fields__contains={key: exact})
            return qs
        if kind in (FieldType.NUMBER, FieldType.DECIMAL, FieldType.DATE):
            alias = f"_cf_{key}"
            if kind == FieldType.NUMBER:
                # Whole numbers are stored as JSON numbers: jsonb compares them numerically.
                expression = KeyTransform(key, "custom_fields")
            elif kind == FieldType.DECIMAL:
                expression = NumericOrNull(KeyTextTransform(key, "custom_fields"))
            else:
                # Dates are stored as YYYY-MM-DD: as text they sort in date order.
                expression = KeyTextTransform(key, "custom_fields")
                low, high = (d.isoformat() if d else None for d in (low, high))
            qs = qs.alias(**{alias: expression})
            if low is not None:
                qs = qs.filter(**{f"{alias}__gte": low})
            if high is not None:
                qs = qs.filter(**{f"{alias}__lte": high})
            return qs
        if not value:
            return qs
        if kind == FieldType.BOOLEAN:
            return qs.filter(custom_fields__contains={key: value == "yes"})
        if kind == FieldType.MULTI_CHOICE:
            return qs.filter(custom_fields__contains={key: [value]})
        return qs.filter(custom_fields__contains={key: value})


def custom_field_filters(entity: str, ctx: FilterContext) -> list[CustomFieldFilter]:
    """One filter per custom field definition of `entity`, in the admin's order (one query
    per request, cached on the context)."""
    definitions = ctx.cached(f"cf:{entity}", lambda: list(definitions_for(entity).values()))
    return [
        CustomFieldFilter(
            name=custom_field_name(d.key), label=d.label, advanced=True, definition=d
        )
        for d in definitions
    ]
