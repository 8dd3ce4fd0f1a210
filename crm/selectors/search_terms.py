"""The text side of global search: what the user typed, normalised, and the two match
conditions (full text with every word as a prefix; trigram word similarity for typos), plus the
transaction settings the typo tier needs. crm.selectors.search builds the queries from these;
the autocomplete fields reuse them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import BooleanField, F, Func, Q, TextField, Value

from crm.search import PlainToTsQuery, SearchTerm, SimpleTsVector, name_starts

# Low enough for two typos in a short name, high enough to keep unrelated names out.
WORD_SIMILARITY_THRESHOLD = 0.3
# Longer input is cut: nobody types more, and trigram cost grows with the query's length.
MAX_QUERY_LENGTH = 100
# Below this many characters trigrams match nearly everything; prefix search alone answers.
MIN_TRIGRAM_LENGTH = 3
# Runs of word characters with a letter or digit in them: "_" alone is a word character to
# Python but not to the text parser or pg_trgm, where "__" matches nothing (a typo search
# "jonh __" would then find nothing at all, word by word).
_WORDS = re.compile(r"\w*[^\W_]\w*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalise_query(query: str | None) -> str:
    """The query as searched: control characters out (NUL, which PostgreSQL text refuses,
    and the rest of C0 and DEL), trimmed, inner whitespace collapsed, capped in length."""
    # Stripped after the cut, which may end on a space: normalising twice changes nothing.
    return " ".join(_CONTROL.sub(" ", query or "").split())[:MAX_QUERY_LENGTH].rstrip()


class _Infix(Func):
    """a <op> b, as an expression (`@@` for a match, `||` / `&&` to OR / AND two tsqueries)."""

    template = "(%(expressions)s)"

    def __init__(self, left: Any, op: str, right: Any, output_field: Any) -> None:
        self.arg_joiner = f" {op} "
        super().__init__(left, right, output_field=output_field)


class _PrefixWord(Func):
    """One typed word as a prefix tsquery, `'word':*`, built in SQL once the word is normalised
    like the column (lower + unaccent). Unaccent turns some letters into quotes (the okina
    U+02BB and its kin become ', U+0149 becomes 'n), so the word is quoted only after it, its
    quotes doubled and its backslashes escaped: whatever was typed, to_tsquery reads one
    quoted string, never an operator."""

    template = (
        "to_tsquery('simple'::regconfig, '''' || replace(replace("
        r"lower(public.f_unaccent(%(expressions)s)), '\', '\\'), '''', '''''') || ''':*')"
    )
    output_field = TextField()


def query_words(query: str) -> list[str]:
    """The words of `query` the prefix match requires ('Jonh Sm' -> ['Jonh', 'Sm'])."""
    return _WORDS.findall(query)


def prefix_tsquery(query: str, words: Sequence[str] | None = None) -> Func | None:
    """'Jonh Sm' -> 'jonh':* && 'sm':* (every \\w word of `query` as a prefix, all of them
    required; `words`: query_words(query), given) as a tsquery expression; None when
    `query` has no word."""
    result: Func | None = None
    for word in query_words(query) if words is None else words:
        part = _PrefixWord(Value(word))
        result = part if result is None else _Infix(result, "&&", part, TextField())
    return result


def _text_matches(tsquery: Func) -> Q:
    # SimpleTsVector(search_text) is the full-text index's expression (crm/search.py).
    return Q(_Infix(SimpleTsVector(F("search_text")), "@@", tsquery, BooleanField()))


def full_text_match(query: str, words: Sequence[str] | None = None) -> Q | None:
    """Tier 1: the whole input as the parser reads it, or every word as a prefix (`words`:
    query_words(query), given)."""
    words = prefix_tsquery(query, words)
    if words is None:
        return None
    tsquery = _Infix(PlainToTsQuery(SearchTerm(Value(query))), "||", words, TextField())
    return _text_matches(tsquery)


def exact_text_match(query: str) -> Q:
    """The whole input as the parser reads it, whole words only (no prefixes): the part of
    tier 1 whose matches rank first ('john' is read before 'johnson', an email as itself).
    The full-text index serves it as one entry per word, without the prefix expansion that
    costs 'joh':* ~0.5 us for each of its 12,000 matches at 1M contacts."""
    return _text_matches(PlainToTsQuery(SearchTerm(Value(query))))


def one_word(query: str, words: Sequence[str] | None = None) -> bool:
    """Whether `query` is one word with a letter in it and nothing else ("joh", not "joh.",
    "jo h" or "555"; `words`: query_words(query), given): such a query also reads names that
    start with it (names_starting). Digits alone start phone numbers, not names: their
    search would only pay for planning the name branches (~1 ms a type)."""
    words = query_words(query) if words is None else words
    return len(words) == 1 and words[0] == query and any(c.isalpha() for c in query)


def names_starting(word: str, fields: Sequence[str]) -> list[Q]:
    """One condition per field of `fields` (a type's name fields, each with a
    name_starts_index): the field starts with `word`, a one_word() query. Such a row is what
    the full-text tier means too (search_text holds those fields, lowered and unaccented, with
    spaces between, so the field's first word starts with the query), but for the rare name
    the text parser reads otherwise: a URL pasted into a name ("http://marx") is found by
    "http" here, though its text vector holds only 'marx'."""
    return [name_starts(field, word) for field in fields]


class _ToTsQuery(Func):
    template = "to_tsquery('simple'::regconfig, %(expressions)s)"
    output_field = TextField()


def corrected_match(tsquery: str) -> Q:
    """The typo tier's words, corrected by the dictionary (search_typos.corrections), in
    to_tsquery's syntax: whole words (and prefixes) for the full-text index."""
    return _text_matches(_ToTsQuery(Value(tsquery)))


def prefix_match(query: str) -> Q | None:
    """Every word of `query` starts a word of search_text (the full-text index): for input
    too short for trigrams. None when no word is left to match."""
    words = prefix_tsquery(query)
    return None if words is None else _text_matches(words)


def typo_match(query: str, words: Sequence[str] | None = None) -> Q | None:
    """Tier 2: every word of `query` close to a word of search_text (`search_text %> 'jonh'
    AND search_text %> 'smiht'`, the trigram index with the lowered threshold; `words`:
    query_words(query), given). None for input too short for trigrams or without a word.

    Why every word rather than the whole query (`search_text %> 'mary jonson'`): at the
    lowered threshold one exact word carries a two-word query past it, so that matched every
    Mary (44,806 of 1M contacts read from the trigram index, 82-96 ms) and the Mary Johnsons
    were a few among the candidates read. Word by word the index ANDs its conditions itself:
    3,361 rows, 33 ms; "jonh smiht" 7.7 -> 3.1 ms (docs/benchmarks.md, session 14). As in the
    full-text tier, every word must match."""
    if len(query) < MIN_TRIGRAM_LENGTH:
        return None
    words = query_words(query) if words is None else words
    if not words:
        return None
    return Q(*(Q(search_text__trigram_word_similar=SearchTerm(Value(w))) for w in words))


def use_search_threshold() -> None:
    """Lower pg_trgm's word similarity threshold for the current transaction only, and keep
    the typo tier on the trigram index.

    Why `enable_seqscan = off` and `enable_indexscan = off`: the planner prices `%>` as a
    cheap operator that keeps many rows, so for a common name it expects to find the tier's
    CANDIDATES rows early in any walk of the table and picks one. At 1M contacts a manager who
    may see no "John Smith" (full text found nothing, so the typo tier ran) waited 620 ms
    while a sequential scan computed word similarity for 65,000 rows; with sequential scans
    off it walked a whole unrelated index instead (contact_company_idx, 59,000 rows, 800 ms).
    With both off only bitmap scans remain, and the trigram index's bitmap is the one that
    narrows: 38-58 ms. Both settings are transaction-local (`set_config(..., true)`), like the
    threshold: they end with the search."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true), "
            "set_config('enable_seqscan', 'off', true), "
            "set_config('enable_indexscan', 'off', true)",
            [str(WORD_SIMILARITY_THRESHOLD)],
        )
