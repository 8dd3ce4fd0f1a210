"""Filter kinds a list spec is built from. Each one names its URL parameters, offers the form
fields that validate them, and turns cleaned values into ORM lookups it chooses itself.

A value reaches the queryset only after its form field accepted it (a choice among the listed
ones, a date, a number, a UUID of a listed user), so a hand-written URL can at worst select
nothing. Option lists that need a query load through the request's FilterContext, once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Func, Model, Q, QuerySet, TextField, Value
from django.utils import timezone

Choices = list[tuple[str, str]]
ANY = ("", "Any")


class SearchTerm(Func):
    """Typed text normalised like `search_text` (crm.search.SearchText): unaccented, lower.
    f_unaccent is IMMUTABLE, so the pattern is a constant at plan time and the trigram GIN
    index serves `search_text LIKE '%term%'`."""

    template = "lower(public.f_unaccent(%(expressions)s))"
    output_field = TextField()


class FilterContext:
    """What filters need to know about the request: the user, and option lists loaded once."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self._cache: dict[str, Any] = {}

    def cached(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]


@dataclass(frozen=True)
class Filter:
    """Base: a filter with one URL parameter `name`."""

    name: str
    label: str
    advanced: bool = False  # drawn under "More filters"

    def form_fields(self, ctx: FilterContext) -> dict[str, forms.Field]:
        raise NotImplementedError

    def apply(self, qs: QuerySet, data: dict[str, Any], ctx: FilterContext) -> QuerySet:
        raise NotImplementedError


def _choice_field(label: str, choices: Choices) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, choices=[ANY, *choices])


@dataclass(frozen=True)
class SearchFilter(Filter):
    """`?q=`: the text filter. On `search_text` it goes through the trigram index; on plain
    columns (contracts, tasks, documents have no search column) it is icontains."""

    fields: tuple[str, ...] = ()

    def form_fields(self, ctx: FilterContext) -> dict[str, forms.Field]:
        return {self.name: forms.CharField(label=self.label, required=False, max_length=200)}

    def apply(self, qs: QuerySet, data: dict[str, Any], ctx: FilterContext) -> QuerySet:
        text = (data.get(self.name) or "").strip()
        if not text:
            return qs
        if self.fields == ("search_text",):
            # Every word must appear, in any order ("acme berlin").
            for word in text.split():
                qs = qs.filter(search_text__contains=SearchTerm(Value(word)))
            return qs
        match = Q()
        for name in self.fields:
            match |= Q(**{f"{name}__icontains": text})
        return qs.filter(match)


@dataclass(frozen=True)
class ChoiceFilter(Filter):
    """A model field with fixed choices (status, type, priority, kind): equals."""

    field: str = ""
    choices: tuple[tuple[str, str], ...] = ()

    def form_fields(self, ctx: FilterContext) -> dict[str, forms.Field]:
        return {self.name: _choice_field(self.label, list(self.choices))}

    def apply(self, qs: QuerySet, data: dict[str, Any], ctx: FilterContext) -> QuerySet:
        value = data.get(self.name)
        return qs.filter(**{self.field: value}) if value else qs


def _user_choices(ctx: FilterContext) -> Choices:
    from crm.selectors.lists import owner_choices

    return ctx.cached("users", lambda: owner_choices(user=ctx.user))


@dataclass(frozen=True)
class UserFilter(Filter):
    """Owner or assignee: "me" or one of the users the viewer works with."""

    field: str = "owner"

    def form_fields(self, ctx: FilterContext) -> dict[str, forms.Field]:
        return {self.name: _choice_field(self.label, [("me", "Me"), *_user_choices(ctx)])}

    def apply(self, qs: QuerySet, data: dict[str, Any], ctx: FilterContext) -> QuerySet:
        value = data.get(self.name)
        if not value:
            return qs
        return qs.filter(**{f"{self.field}_id": ctx.user.pk if value == "me" else value})


@dataclass(frozen=True)
class LookupFilter(Filter):
    """A foreign key to a small admin-managed table (industry, pipeline, stage, type)."""

    field: str = ""
    model: type[Model] | None = None
    related: tuple[str, ...] = ()  # select_related for the option labels

    def _options(self, ctx: FilterContext) -> Choices:
        def load() -> Choices:
            rows = self.model._default_manager.select_related(*self.related)
            return [(str(obj.pk), str(obj)) for obj in rows]

        return ctx.cached(f"lookup:{self.model._meta.label}", load)

    def form_fields(self, ctx: FilterContext) -> dict[str, forms.Field]:
        return {self.name: _choice_field(self.label, self._options(ctx))}

    def apply(self, qs: QuerySet, data: dict[str, Any], ctx: FilterContext) -> QuerySet:
        value = data.get(self.name)
        return qs.filter(**{f"{self.field}_id": value}) if value else qs


@dataclass(frozen=True)
class BooleanFilter(Filter):
    field: str = ""

    def form_fields(self, ctx: FilterContext) -> dict[str, forms.Field]:
        return {self.name: _choice_field(self.label, [("yes", "Yes"), ("no", "No")])}

    def apply(self, qs: QuerySet, data: dict[str, Any], ctx: FilterContext) -> QuerySet:
        value = data.get(self.name)
        return qs.filter(**{self.field: value == "yes"}) if value else qs


@dataclass(frozen=True)
class TextEqualsFilter(Filter):
    """A free-text column matched whole, case-insensitively (a lead's source)."""

    field: str = ""

    def form_fields(self, ctx: FilterContext) -> dict[str, forms.Field]:
        return {self.name: forms.CharField(label=self.label, required=False, max_length=100)}

    def apply(self, qs: QuerySet, data: dict[str, Any], ctx: FilterContext) -> QuerySet:
        value = (data.get(self.name) or "").strip()
        return qs.filter(**{f"{self.field}__iexact": value}) if value else qs


@dataclass(frozen=True)
class TagFilter(Filter):
    """`?tag=a,b`: rows carrying every listed tag (tags @> ARRAY[...], the tags GIN index)."""

    def form_fields(self, ctx: FilterContext) -> dict[str, forms.Field]:
        return {
            self.name: forms.CharField(
                label=self.label,
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"placeholder": "vip, renewal"}),
            )
        }

    def apply(self, qs: QuerySet, data: dict[str, Any], ctx: FilterContext) -> QuerySet:
        tags = [t.strip() for t in (data.get(self.name) or "").split(",") if t.strip()]
        return qs.filter(tags__contains=tags) if tags else qs


def _date_input(label: str) -> forms.DateField:
    return forms.DateField(
        label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@dataclass(frozen=True)
class DateRangeFilter(Filter):
    """`?<name>_from=&<name>_to=`, both days inclusive. A datetime column is compared with the
    local day's bounds (never `col::date`, which no index serves)."""

    field: str = ""
    is_datetime: bool = True

    @property
    def param_names(self) -> tuple[str, str]:
        return (f"{self.name}_from", f"{self.name}_to")

    def form_fields(self, ctx: FilterContext) -> dict[str, forms.Field]:
        start, end = self.param_names
        return {start: _date_input(f"{self.label} from"), end: _date_input(f"{self.label} to")}

    def _bound(self, day: dt.date) -> dt.date | dt.datetime:
        if not self.is_datetime:
            return day
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

    def apply(self, qs: QuerySet, data: dict[str, Any], ctx: FilterContext) -> QuerySet:
        start, end = (data.get(name) for name in self.param_names)
        if start:
            qs = qs.filter(**{f"{self.field}__gte": self._bound(start)})
        if end and end < dt.date.max:  # the last representable day bounds nothing
            if self.is_datetime:
                qs = qs.filter(**{f"{self.field}__lt": self._bound(end + dt.timedelta(days=1))})
            else:
                qs = qs.filter(**{f"{self.field}__lte": end})
        return qs
