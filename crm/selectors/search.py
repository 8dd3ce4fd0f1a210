"""Global search: companies, contacts, leads and deals matching what the user typed.

One query per type, each served by the GIN indexes on `search_text` (crm/search.py):
- full-text, prefix per word (`to_tsvector('simple', search_text) @@ 'joh':* & 'smi':*`), for
  type-ahead and whole words;
- trigram word similarity (`search_text %> 'jonh smiht'`), for typos. Two typos in two short
  words score about 0.36, below pg_trgm's default threshold of 0.6, so the threshold is lowered
  with `set_config(..., is_local => true)` for the transaction the searches run in.
The two arms are OR-ed (a BitmapOr of both indexes); rows rank by word similarity, then by how
close the whole text is. The query repeats the index expressions exactly and clears the
models' default `-updated_at` ordering: with it the planner walks the updated_at index instead.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.db import connection, transaction
from django.db.models import BooleanField, F, Func, Model, Q, QuerySet, TextField, Value
from django.urls import reverse

from crm.models import Company, Contact, Deal, Lead
from crm.search import SimpleTsVector

# Low enough for two typos in a short name, high enough to keep unrelated names out.
WORD_SIMILARITY_THRESHOLD = 0.3
# Longer input is cut: nobody types more, and trigram cost grows with the query's length.
MAX_QUERY_LENGTH = 100
# Below this many characters trigrams match nearly everything; prefix search alone answers.
MIN_TRIGRAM_LENGTH = 3
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class SearchHit:
    title: str
    subtitle: str
    url: str


@dataclass
class SearchGroup:
    key: str
    label: str
    hits: list[SearchHit] = field(default_factory=list)


@dataclass
class SearchResults:
    query: str
    groups: list[SearchGroup] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(group.hits) for group in self.groups)

    @property
    def non_empty_groups(self) -> list[SearchGroup]:
        return [group for group in self.groups if group.hits]


def normalise_query(query: str | None) -> str:
    """The query as searched: trimmed, inner whitespace collapsed, capped in length."""
    return " ".join((query or "").split())[:MAX_QUERY_LENGTH]


def _prefix_tsquery(query: str) -> str:
    """'Jonh Sm' -> "'jonh':* & 'sm':*" (to_tsquery syntax). Words are \\w runs, so they carry
    no quote or operator; unaccent is applied in SQL, like the column."""
    return " & ".join(f"'{word}':*" for word in _WORDS.findall(query.lower()))


class _Normalised(Func):
    """What the column is built with (lower + unaccent), applied to the query's text."""

    template = "lower(public.f_unaccent(%(expressions)s))"
    output_field = TextField()


class _ToTsQuery(Func):
    template = "to_tsquery('simple'::regconfig, %(expressions)s)"
    output_field = TextField()


class _TsMatch(Func):
    """tsvector @@ tsquery, as a boolean expression a filter can take."""

    template = "%(expressions)s"
    arg_joiner = " @@ "
    output_field = BooleanField()


def _matching(rows: QuerySet, query: str) -> QuerySet:
    """`rows` narrowed to those matching `query`, best first (`search_rank`)."""
    arms: list[Q] = []
    tsquery = _prefix_tsquery(query)
    if tsquery:
        # SimpleTsVector(search_text) is the full-text index's expression (crm/search.py).
        arms.append(
            Q(_TsMatch(SimpleTsVector(F("search_text")), _ToTsQuery(_Normalised(Value(tsquery)))))
        )
    if len(query) >= MIN_TRIGRAM_LENGTH:
        # search_text %> query: served by the trigram index, with the lowered threshold.
        arms.append(Q(search_text__trigram_word_similar=_Normalised(Value(query))))
    if not arms:
        return rows.none()
    return (
        rows.filter(reduce(operator.or_, arms))
        .annotate(
            search_rank=TrigramWordSimilarity(_Normalised(Value(query)), "search_text"),
            search_closeness=TrigramSimilarity("search_text", _Normalised(Value(query))),
        )
        .order_by("-search_rank", "-search_closeness", "pk")
    )


def _company_hit(obj: Company) -> SearchHit:
    subtitle = " · ".join(part for part in (obj.domain, obj.email, obj.phone) if part)
    return SearchHit(obj.name, subtitle, obj.get_absolute_url())


def _contact_hit(obj: Contact) -> SearchHit:
    company = obj.company.name if obj.company_id else ""
    subtitle = " · ".join(part for part in (obj.email, company, obj.phone) if part)
    return SearchHit(str(obj) or obj.email, subtitle, obj.get_absolute_url())


def _lead_hit(obj: Lead) -> SearchHit:
    subtitle = " · ".join(
        part for part in (obj.company_name, obj.email, obj.get_status_display()) if part
    )
    return SearchHit(str(obj) or obj.email, subtitle, obj.get_absolute_url())


def _deal_hit(obj: Deal) -> SearchHit:
    company = obj.company.name if obj.company_id else ""
    subtitle = " · ".join(part for part in (company, obj.stage.name) if part)
    return SearchHit(obj.name, subtitle, obj.get_absolute_url())


# key, label, model, related rows shown, columns shown, how a row becomes a hit.
_TYPES: list[tuple[str, str, type[Model], tuple[str, ...], tuple[str, ...], Any]] = [
    ("companies", "Companies", Company, (), ("name", "domain", "email", "phone"), _company_hit),
    (
        "contacts",
        "Contacts",
        Contact,
        ("company",),
        ("first_name", "last_name", "email", "phone", "company_id", "company__name"),
        _contact_hit,
    ),
    (
        "leads",
        "Leads",
        Lead,
        (),
        ("first_name", "last_name", "email", "company_name", "status"),
        _lead_hit,
    ),
    (
        "deals",
        "Deals",
        Deal,
        ("company", "stage"),
        ("name", "company_id", "company__name", "stage_id", "stage__name"),
        _deal_hit,
    ),
]


def search_queryset(*, user: Any, model: type[Model], query: str) -> QuerySet:
    """The rows of `model` that `user` may see and that match `query`, best first, unsliced
    (global_search slices it; tests EXPLAIN it). Typo matching needs the lowered threshold
    (`use_search_threshold()`) in the same transaction."""
    # Visibility first, as everywhere; order_by() inside _matching replaces the default
    # -updated_at ordering, which would steer the planner to the updated_at index.
    return _matching(model._default_manager.visible_to(user), normalise_query(query))


def use_search_threshold() -> None:
    """Lower pg_trgm's word similarity threshold for the current transaction only."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
            [str(WORD_SIMILARITY_THRESHOLD)],
        )


def global_search(*, user: Any, query: str | None, limit_per_type: int = 5) -> SearchResults:
    """Companies, contacts, leads and deals `user` may see that match `query` (names, emails,
    phones, domains; prefixes and typos too), at most `limit_per_type` of each, best first,
    grouped by type in a fixed order. An empty query returns empty groups without a query;
    otherwise one query sets the trigram threshold and one query runs per type."""
    query = normalise_query(query)
    results = SearchResults(query=query)
    if not query:
        return results
    with transaction.atomic():
        use_search_threshold()
        for key, label, model, related, columns, to_hit in _TYPES:
            rows = search_queryset(user=user, model=model, query=query)
            if related:
                rows = rows.select_related(*related)
            rows = rows.only(*columns)[:limit_per_type]
            results.groups.append(SearchGroup(key, label, [to_hit(row) for row in rows]))
    return results


def search_url(query: str) -> str:
    """The full results page for `query`."""
    from urllib.parse import urlencode

    return f"{reverse('crm:search')}?{urlencode({'q': query})}"
