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

Which words count as corrections: the dictionary's index proposes words of about the typed
word's length whose trigram similarity with it reaches CANDIDATE_THRESHOLD, and of those the
ones within one edit (up to five letters) or two (MAX_EDITS) by optimal string alignment
distance (rapidfuzz's OSA: an edit is an insertion, deletion, substitution or a swap of two
neighbours, so "jonh" is one edit from "john") are kept, the closest MAX_CORRECTIONS. A typed
word that is in the dictionary keeps its neighbours too ("John Smith" for a user who may see
no John Smith finds Jon Smith); the search reads the rows matching the closest corrections
first (search_branches.whole_words_first), so an exact word is never crowded out.

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
    query_words,
)

# Edits a correction may be away from the typed word: one up to five letters, two from six
# (Elasticsearch's "AUTO" fuzziness, counting a swap as one edit as it does). Two edits for a
# five-letter word corrected "smith" to "keith": "John Smith", searched by a manager who may
# see no John Smith, listed John Keith before any Smith. "mrgaret" -> "margaret" is one edit,
# "mrgret" two.
SHORT_WORD = 5
# The trigram similarity from which the dictionary's index proposes a word. Below the trigram
# tier's 0.3: an edit near the start of a short word breaks most of its trigrams ("ealine"
# and "elaine" share 3 of 11, 0.27), and here the edit distance, not the trigrams, decides
# what is kept. Of 200 mistyped names (scripts/search_typo_recall.py) 0.3 found 88%, 0.25
# 95.5%, 0.2 96.5% at more cost in a big dictionary (docs/benchmarks.md, session 15).
CANDIDATE_THRESHOLD = 0.25
MAX_EDITS = 2
# Corrections kept per typed word, closest first: enough for every spelling of a name in use
# ("jonson": johnson, jhonson, jonsson), few enough that the full-text query stays small.
MAX_CORRECTIONS = 12

# The dictionary's candidates for each typed word, with the word as search_text holds it
# (lowered, unaccented): trigram similarity from CANDIDATE_THRESHOLD, and a length that differs
# from the typed word's by at most the edits it allows. The index holds both (searchword_trgm:
# the length through btree_gin), so only words of those lengths are rechecked: at a 100,000-word
# dictionary the trigram condition alone rechecked 8,000 words for "mary" (22 ms), most of
# them too long or short to be one edit away (docs/benchmarks.md, session 15).
_CANDIDATES_SQL = f"""
SELECT t.n, t.typed, w.word
FROM (SELECT n, typed, CASE WHEN length(typed) <= {SHORT_WORD} THEN 1 ELSE {MAX_EDITS} END AS e
      FROM (SELECT n, lower(public.f_unaccent(typed)) AS typed
            FROM unnest(%s::text[]) WITH ORDINALITY AS q(typed, n)) AS q) AS t
LEFT JOIN LATERAL (
    SELECT word FROM {TABLE}
    WHERE word %% t.typed
      AND length(word) BETWEEN length(t.typed) - t.e AND length(t.typed) + t.e
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
            "SELECT set_config('pg_trgm.similarity_threshold', %s, true)",
            [str(CANDIDATE_THRESHOLD)],
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
