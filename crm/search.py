"""The SQL expressions behind search, shared by the indexes that serve them and the queries.

An expression index only helps a query that repeats its expression exactly, so both sides take
it from here. `public.f_unaccent` is an IMMUTABLE wrapper around unaccent() created by migration
crm 0001 (unaccent itself is only STABLE, which generated columns and indexes refuse).
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db.models import F, Func, Index, Q, TextField, Value
from django.db.models.functions import Upper
from django.db.models.lookups import StartsWith


class _Coalesced(Func):
    template = "coalesce(%(expressions)s, '')"
    output_field = TextField()


class SearchText(Func):
    """lower(unaccent(a || ' ' || b ...)): the text that fuzzy and full-text search run over."""

    template = "lower(public.f_unaccent(%(expressions)s))"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self, *fields: str) -> None:
        super().__init__(*[_Coalesced(F(name)) for name in fields])


class SimpleTsVector(Func):
    """to_tsvector with the language-neutral `simple` config: names and emails are not English."""

    template = "to_tsvector('simple'::regconfig, %(expressions)s)"
    output_field = TextField()


class SearchTerm(Func):
    """Typed text normalised like the column (lower + unaccent). f_unaccent is IMMUTABLE, so the
    planner folds this to a constant and the trigram and full-text indexes can serve it."""

    template = "lower(public.f_unaccent(%(expressions)s))"
    output_field = TextField()


class PlainToTsQuery(Func):
    """plainto_tsquery with the `simple` config: the input as PostgreSQL's parser reads it."""

    template = "plainto_tsquery('simple'::regconfig, %(expressions)s)"
    output_field = TextField()


def search_text_contains(text: str) -> Q:
    """`search_text LIKE '%text%'`, `text` normalised in SQL like the column (SearchTerm, which
    PostgreSQL folds to a constant): the trigram index answers it. Lists, the admin and the
    type-ahead all filter this way."""
    return Q(search_text__contains=SearchTerm(Value(text)))


def icontains_index(field: str, name: str) -> GinIndex:
    """A trigram index serving `field__icontains` (a list's `?q=` on a plain column), whose
    SQL is `UPPER("field"::text) LIKE UPPER('%q%')`: the index holds that expression. At
    300,000 tasks a title no task has took 446 ms to search (every row read), 48 ms with it."""
    return GinIndex(OpClass(Upper(field), name="gin_trgm_ops"), name=name)


def name_starts_index(field: str, name: str) -> Index:
    """A btree on `field` lowered and unaccented, for name_starts: `lower(f_unaccent(field))
    LIKE 'joh%'`, read in the index's order and stopped after the first rows. text_pattern_ops,
    because the database's collation (C.UTF-8) is not "C" and only a pattern opclass serves a
    LIKE prefix then."""
    return Index(OpClass(SearchTerm(F(field)), name="text_pattern_ops"), name=name)


def name_starts(field: str, word: str) -> Q:
    """`field`, lowered and unaccented like search_text, starts with `word` normalised the
    same way (name_starts_index). PostgreSQL folds the pattern to a constant, LIKE's own
    characters in `word` escaped, so the index's range serves it."""
    return Q(StartsWith(SearchTerm(F(field)), SearchTerm(Value(word))))
