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
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from crm.search import search_text_contains

Choices = list[tuple[str, str]]
ANY = ("", "Any")


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
                qs = qs.filter(search_text_contains(word))
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


@dataclass(frozen=True)
class RelatedRecordFilter(Filter):
    """`?company=<uuid>` and the like: the rows that hang off one parent record, as the "All N"
    links of a detail page's related panels ask for.

    `paths` name, on the row model, how a row reaches the parent: a foreign key (`company`),
    a many-to-many (`companies`), a reverse many-to-many (`deals` on contacts) or a reverse
    foreign key (`primary_deals` on contacts). Several paths are OR-ed. Every arm is a plain
    column match or `pk IN (<one link table's column>)`, never a join, so the rows come out
    once each and each arm is served by the foreign key's or the link table's index.

    The parent is loaded once through the visibility layer (for the chip, too); one the user
    may not see, or that does not exist, matches nothing, so the page never tells the two
    apart.
    """

    model: type[Model] | None = None
    paths: tuple[str, ...] = ()

    def form_fields(self, ctx: FilterContext) -> dict[str, forms.Field]:
        field = forms.UUIDField(
            label=self.label,
            required=False,
            widget=forms.HiddenInput(),
            error_messages={"invalid": "That link names no record."},
        )
        return {self.name: field}

    def parent(self, pk: Any, ctx: FilterContext) -> Model | None:
        """The parent record if `user` may see it, else None; one query per request."""
        from crm import permissions

        def load() -> Model | None:
            return permissions.visible_to(ctx.user, self.model).filter(pk=pk).first()

        return ctx.cached(f"parent:{self.name}:{pk}", load)

    def _rows(self, row_model: type[Model], path: str, parent: Model) -> tuple[Q, QuerySet]:
        """One path to the parent, as a condition on the rows and as a query of their ids."""
        field = row_model._meta.get_field(path)
        rows = row_model._default_manager
        if field.many_to_one and not field.auto_created:  # a foreign key on the row
            match = Q(**{field.attname: parent.pk})
            return match, rows.filter(match).order_by().values("pk")
        if field.one_to_many:  # the parent's foreign key names the row
            match = Q(pk=getattr(parent, field.field.attname))
            return match, rows.filter(match).order_by().values("pk")
        if field.many_to_many:
            # The link table alone answers: its parent column is indexed, and its other
            # column is the row's primary key.
            m2m = field if not field.auto_created else field.field
            row_side, parent_side = m2m.m2m_field_name(), m2m.m2m_reverse_field_name()
            if field.auto_created:  # reached from the other side of the m2m
                row_side, parent_side = parent_side, row_side
            links = m2m.remote_field.through._default_manager.filter(
                **{f"{parent_side}_id": parent.pk}
            )
            ids = links.order_by().values(f"{row_side}_id")
            return Q(pk__in=ids), ids
        raise TypeError(f"{row_model.__name__}.{path} does not lead to a record.")

    def apply(self, qs: QuerySet, data: dict[str, Any], ctx: FilterContext) -> QuerySet:
        pk = data.get(self.name)
        if not pk:
            return qs
        parent = self.parent(pk, ctx)
        if parent is None:
            return qs.none()
        arms = [self._rows(qs.model, path, parent) for path in self.paths]
        if len(arms) == 1:
            return qs.filter(arms[0][0])
        # Several paths: `pk IN (ids UNION ids)`, each part answered by its own index, then
        # the rows by primary key. An OR of the arms would leave the IN-subquery arm as a
        # filter on every visible row; UNION also makes a row reached both ways count once.
        first, *rest = (ids for _, ids in arms)
        return qs.filter(pk__in=first.union(*rest))
