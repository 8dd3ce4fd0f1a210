"""Global search's typo tier through the word dictionary (crm.models.search_words): each typed
word is corrected to the words the records hold that are at most an edit or two away, and the
records are then found by the full-text index with those words, whole.

    "mary jonson"  ->  'mary' & ('jhonson' | 'johnson' | 'jonsson')

Why not the trigram index over each record's whole text (search_terms.typo_match, still the
fallback): a common name's trigrams are in hundreds of thousands of rows, which pg_trgm's GIN
index reads before the first row (60-110 ms a page at 1M contacts), and word similarity over a
whole text lets a near-miss span a space ("Mrgaret" found "Mr Garrett" first). The dictionary
has a few thousand to ~100,000 words: its trigram index finds the candidates for a word in a
millisecond, and the full-text index finds the records in a few more (docs/benchmarks.md,
session 15).

Which words count as corrections: the dictionary's trigram index proposes words whose word
similarity with the typed one reaches pg_trgm.word_similarity_threshold (as the old tier), and
of those the ones within MAX_EDITS of it by optimal string alignment distance (rapidfuzz's
OSA: an edit is an insertion, deletion, substitution or a swap of two neighbours, so "jonh" is
one edit from "john") are kept, the closest MAX_CORRECTIONS. A typed word that is in the
dictionary keeps its neighbours too ("John Smith" for a user who may see no John Smith finds
Jon Smith); the search reads the rows matching the closest corrections first
(search_branches.whole_words_first), so an exact word is never crowded out.

When it does not apply (corrections() returns None, and the trigram tier runs as before): no
word long enough to correct (all shorter than MIN_TRIGRAM_LENGTH or with a digit), or a word of
letters for which the dictionary has nothing close (a typo inside an email's name part,
"jsmtih"). Words it does not correct (short, or with a digit or an underscore) are matched as
prefixes, as in the full-text tier.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from rapidfuzz.distance import OSA

from crm.models.search_words import TABLE
from crm.selectors.search_terms import (
    MIN_TRIGRAM_LENGTH,
    WORD_SIMILARITY_THRESHOLD,
    query_words,
)

# Edits a correction may be away from the typed word: one up to five letters, two from six
# (Elasticsearch's "AUTO" fuzziness, counting a swap as one edit as it does). Two edits for a
# five-letter word corrected "smith" to "keith": "John Smith", searched by a manager who may
# see no John Smith, listed John Keith before any Smith. "mrgaret" -> "margaret" is one edit,
# "mrgret" two.
SHORT_WORD = 5
MAX_EDITS = 2
# Corrections kept per typed word, closest first: enough for every spelling of a name in use
# ("jonson": johnson, jhonson, jonsson), few enough that the full-text query stays small.
MAX_CORRECTIONS = 12

# The dictionary's candidates for each typed word, with the word as search_text holds it
# (lowered, unaccented). Their length can differ from the typed word's by at most the edits
# allowed: the index proposes every word sharing a third of the trigrams ("mary" -> "martinez").
_CANDIDATES_SQL = f"""
SELECT t.n, t.typed, w.word
FROM (SELECT n, lower(public.f_unaccent(typed)) AS typed
      FROM unnest(%s::text[]) WITH ORDINALITY AS q(typed, n)) AS t
LEFT JOIN LATERAL (
    SELECT word FROM {TABLE}
    WHERE word %%> t.typed
      AND char_length(word) BETWEEN char_length(t.typed) - {MAX_EDITS}
                                AND char_length(t.typed) + {MAX_EDITS}
) AS w ON true
ORDER BY t.n
"""  # noqa: S608 (constants only)


@dataclass(frozen=True)
class Corrections:
    """The typo tier's two full-text queries, as to_tsquery text: `closest`, each word's
    nearest corrections (read first), and `every`, all of them."""

    closest: str
    every: str


def corrections(query: str) -> Corrections | None:
    """The corrected full-text queries for `query` (normalised), or None when the dictionary
    cannot correct it (see the module's docstring): one query to the dictionary."""
    words = query_words(query)
    if len(query) < MIN_TRIGRAM_LENGTH or not words:
        return None
    with connection.cursor() as cursor:
        # Transaction-local, like the trigram tier's (search_terms.use_search_threshold).
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
            [str(WORD_SIMILARITY_THRESHOLD)],
        )
        cursor.execute(_CANDIDATES_SQL, [words])
        rows = cursor.fetchall()
    typed: dict[int, str] = {}
    candidates: dict[int, list[str]] = {}
    for n, word, candidate in rows:
        typed[n] = word
        if candidate is not None:
            candidates.setdefault(n, []).append(candidate)
    closest, every, corrected = [], [], False
    for n in sorted(typed):
        word = typed[n]
        if not _correctable(word):
            term = _prefix(word)
            closest.append(term)
            every.append(term)
            continue
        near = _nearest(word, candidates.get(n, []))
        if not near:
            return None  # a word the dictionary has nothing close to: the trigram tier's
        corrected = True
        best = near[0][0]
        closest.append(_any(w for d, w in near if d == best))
        every.append(_any(w for _, w in near))
    if not corrected:
        return None
    return Corrections(" & ".join(closest), " & ".join(every))


def _correctable(word: str) -> bool:
    # Only words of letters are in the dictionary (crm.models.search_words.WORD_PATTERN).
    return len(word) >= MIN_TRIGRAM_LENGTH and word.isalpha()


def _nearest(word: str, candidates: list[str]) -> list[tuple[int, str]]:
    """(edits, candidate) within the edits `word` allows, closest first, at most
    MAX_CORRECTIONS."""
    allowed = 1 if len(word) <= SHORT_WORD else MAX_EDITS
    near = []
    for candidate in candidates:
        edits = OSA.distance(word, candidate, score_cutoff=allowed)
        if edits <= allowed:
            near.append((edits, candidate))
    near.sort()
    return near[:MAX_CORRECTIONS]


def _quoted(word: str) -> str:
    # A tsquery operand: quoted, its quotes doubled and backslashes escaped, so whatever the
    # word holds (unaccent turns a few letters into quotes) to_tsquery reads one operand.
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _prefix(word: str) -> str:
    return _quoted(word) + ":*"


def _any(words: Iterable[str]) -> str:
    return "(" + " | ".join(_quoted(w) for w in words) + ")"
