"""The records offered while typing in a related-record field (crm/forms/widgets.py).

One spec per entity says which columns a label and its subtitle need, how choices are ordered,
and how a row becomes an option, so the widget's `<select>`, its current label and the
type-ahead results agree. Matching reuses the `search_text` column and its GIN indexes
(crm/search.py, docs/architecture.md "Search"):
- from three characters, a substring (`search_text LIKE '%acm%'`), then, when those do not
  fill the list, a typo-tolerant word match (`search_text %> 'acem'`), both served by the
  `gin_trgm_ops` index;
- below three characters trigrams cannot narrow anything, so a word-prefix full-text match
  (`to_tsvector('simple', search_text) @@ 'ac':*`) answers from the full-text index instead.
The query side is normalised in SQL with `lower(public.f_unaccent(...))`, the column's own
expression, and the PostgreSQL planner folds it to a constant, which is what lets the index
serve the LIKE. Contracts have no search column: a bounded `title ILIKE` is enough for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import TrigramWordSimilarity
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Model, Q, QuerySet, Value

from crm import permissions
from crm.fence import fenced_sql, first_rows
from crm.models import Company, Contact, Contract, Deal, Lead
from crm.search import SearchTerm, search_text_contains
from crm.selectors.search_terms import (
    MIN_TRIGRAM_LENGTH,
    normalise_query,
    prefix_match,
    typo_match,
    use_search_threshold,
)

AUTOCOMPLETE_LIMIT = 10
# A common substring's options are chosen among this many visible matches, read first...
CANDIDATES = 200
# ...among this many matches at most (_among_candidates).
FENCE_SCAN = 5000
# Typo matches read at most, the closest of them offered (like global search's typo tier).
TYPO_CANDIDATES = 200


@dataclass(frozen=True)
class RecordOption:
    pk: Any
    label: str
    subtitle: str


def _joined(*parts: Any) -> str:
    return " · ".join(str(part) for part in parts if part)


def record_label(obj: Model) -> str:
    """What a record is called in a choice: its name, else its email (a contact may have only
    an email), never an empty option."""
    return str(obj) or getattr(obj, "email", "") or "(no name)"


@dataclass(frozen=True)
class AutocompleteSpec:
    model: type[Model]
    # The columns record_label() reads: what the widget's select and current label load.
    label_columns: tuple[str, ...]
    order: tuple[str, ...]
    # What the results add for the subtitle (joined rows go in `related`).
    subtitle_columns: tuple[str, ...]
    related: tuple[str, ...]
    subtitle: Callable[[Any], str]
    searchable: bool = True
    # The subtitle names the record's company (annotated as `company_name`, when visible).
    names_company: bool = False

    def option(self, obj: Model) -> RecordOption:
        return RecordOption(obj.pk, record_label(obj), self.subtitle(obj))


def _company_of(obj: Any) -> str:
    """The company's name record_autocomplete set (_name_companies): empty when the user may
    not see the company, so an option never names a hidden record."""
    return getattr(obj, "company_name", None) or ""


SPECS: dict[str, AutocompleteSpec] = {
    "company": AutocompleteSpec(
        Company, ("name",), ("name",), ("domain", "email"), (),
        lambda o: o.domain or o.email,
    ),
    "contact": AutocompleteSpec(
        Contact, ("first_name", "last_name", "email"), ("last_name", "first_name"),
        ("company_id",), (),
        lambda o: _joined(o.email, _company_of(o)), names_company=True,
    ),
    "lead": AutocompleteSpec(
        Lead, ("first_name", "last_name", "email"), ("last_name", "first_name"),
        ("company_name",), (),
        lambda o: _joined(o.company_name, o.email),
    ),
    "deal": AutocompleteSpec(
        Deal, ("name",), ("name",), ("company_id",), (),
        _company_of, names_company=True,
    ),
    "contract": AutocompleteSpec(
        Contract, ("title",), ("title",), ("company_id",), (),
        _company_of, searchable=False, names_company=True,
    ),
}  # fmt: skip
ENTITY_OF_MODEL: dict[type[Model], str] = {spec.model: key for key, spec in SPECS.items()}


def _matches(rows: QuerySet, order: tuple[str, ...], query: str, limit: int) -> list[Model]:
    """The first `limit` of `rows` matching `query`: substring matches by name (among the
    first CANDIDATES visible ones for a common substring, _among_candidates), then, if there
    are fewer than `limit`, the closest typo matches among the first TYPO_CANDIDATES.

    Why in two steps: typo matches are many and costly (at 1M contacts "jonh" is within the
    word similarity threshold of 55,000 rows, each rechecked against its text), and substring
    matches come first anyway. Read together and sorted by name, "john" took 80-230 ms and
    "outlook.com" 1.0-2.2 s. The substring step goes through crm.fence.first_rows: a rep
    whose visible contacts hold few of many matches (a big customer's domain) would otherwise
    wait while the name index is walked to its end (2 s measured). The typo step reads at
    most TYPO_CANDIDATES matches, as global search's typo tier does, and offers the closest:
    sorting every typo match by name cost 100-240 ms for "jonh"."""
    order = (*order, "pk")  # total, as first_rows needs
    if len(query) < MIN_TRIGRAM_LENGTH:
        # Too short for trigrams: every word as a prefix, through the full-text index.
        prefix = prefix_match(query)
        return [] if prefix is None else first_rows(rows.filter(prefix).order_by(*order), limit)
    substring = search_text_contains(query)
    found = _among_candidates(rows, substring, order, limit)
    if found is None:
        found = first_rows(rows.filter(substring).order_by(*order), limit)
    typo = typo_match(query)
    if typo is not None and len(found) < limit:
        near = rows.filter(typo).exclude(substring).order_by().values("pk")
        closeness = TrigramWordSimilarity(SearchTerm(Value(query)), "search_text")
        typos = (
            rows.filter(pk__in=near[:TYPO_CANDIDATES])
            .annotate(typo_closeness=closeness)
            .order_by("-typo_closeness", *order)
        )
        with transaction.atomic():
            # `%>` matches from pg_trgm's word similarity threshold, lowered for this
            # transaction, which also allows only bitmap scans (use_search_threshold).
            use_search_threshold()
            found += typos[: limit - len(found)]
    return found


def _among_candidates(
    rows: QuerySet, substring: Q, order: tuple[str, ...], limit: int
) -> list[Model] | None:
    """The first `limit` by `order` of the first CANDIDATES visible substring matches, when
    there are that many among the first FENCE_SCAN matches; None otherwise (the caller then
    reads the exact first rows by name).

    Why: a common string ("john": 16,500 matches at 1M contacts, 4,600 visible to a
    manager) made PostgreSQL read and sort every visible match for the first ten names: 43 ms.
    Read in the text index's order, fenced (crm.fence: visibility tested per match), the
    first CANDIDATES visible ones stop the scan; the list then offers the first ten of those
    by name. Which ten of thousands is arbitrary either way; a narrower query (the next
    letter typed) has fewer matches than CANDIDATES and gets the exact first ten."""
    model = rows.model
    inner = model._base_manager.filter(substring).order_by()[:FENCE_SCAN]
    outer = rows.order_by().values_list("pk", flat=True)[:CANDIDATES]
    try:
        sql, params = fenced_sql(outer, inner)
    except EmptyResultSet:
        return []
    except ValueError:  # a rule reading the table again: the fence cannot hold it
        return None
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [key for (key,) in cursor.fetchall()]
    if len(keys) < CANDIDATES:
        return None
    return list(rows.filter(pk__any=keys).order_by(*order)[:limit])


def record_autocomplete(
    *,
    user: Any,
    entity: str,
    query: str | None,
    limit: int = AUTOCOMPLETE_LIMIT,
    for_edit: bool = False,
) -> list[RecordOption]:
    """The records of `entity` that `user` may see (or change, `for_edit`, when linking to
    them is a change to them, as a task's parent is) and that match `query`, as options with
    a label and a subtitle, at most `limit`. Names, emails, domains and phones match as
    substrings and with a typo or two; an empty query offers the most recently changed
    records instead. Raises KeyError for an entity not in SPECS. Queries: the rule's ids
    (cached per request), two or three for the matches (crm.fence.first_rows), and two more
    (threshold, rows) only when substring matches do not fill the list.
    """
    spec = SPECS[entity]
    base = spec.model._default_manager.all()
    rows = permissions.editable_by(user, base) if for_edit else permissions.visible_to(user, base)
    rows = rows.select_related(*spec.related).only(*spec.label_columns, *spec.subtitle_columns)
    query = normalise_query(query)
    if not query:
        objs = list(rows.order_by("-updated_at")[:limit])
    elif not spec.searchable:
        rows = rows.filter(**{f"{spec.order[0]}__icontains": query}).order_by(*spec.order)
        objs = list(rows[:limit])
    else:
        objs = _matches(rows, spec.order, query, limit)
    if spec.names_company:
        _name_companies(user, objs)
    return [spec.option(obj) for obj in objs]


def _name_companies(user: Any, objs: list[Model]) -> None:
    """Each option's company name as `company_name`, None where `user` may not see the
    company (the option then does not name it), read for the options shown in one query
    (permissions.visible_names). Joined in the matches' query, the name was read for
    every match before the sort: 13 of a manager's 45 ms for "john" at 1M contacts."""
    names = permissions.visible_names(user, Company, {obj.company_id for obj in objs})
    for obj in objs:
        obj.company_name = names.get(obj.company_id)
