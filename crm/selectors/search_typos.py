"""Global search's typo tier through the word dictionary (crm.models.search_words): each typed
word is corrected to the words the records hold that are at most an edit or two away, and the
records are then found by the full-text index with those words, whole.

    "mary jonson"  ->  ('mary' | 'mark' | 'marc' ...) & ('johnson' | 'jhonson' | 'jonsson')

Why not the trigram index over each record's whole text (search_terms.typo_match, still the
fallback): a common name's trigrams are in hundreds of thousands of rows, which pg_trgm's GIN
index reads before the first row (60-110 ms a page at 1M contacts), and word similarity over a
whole text lets a near-miss span a space ("Mrgaret" found "Mr Garrett" first). The dictionary
has a few thousand to ~100,000 words: a word's corrections take a millisecond or two, and the
full-text index finds the records in a few more (docs/benchmarks.md, session 15).

Which words count as corrections: the dictionary words within one edit of the typed word (up
to five letters) or two (MAX_EDITS, from six) by optimal string alignment distance (an edit is
an insertion, deletion, substitution or a swap of two neighbours, so "jonh" is one edit from
"john"; rapidfuzz's OSA), the closest MAX_CORRECTIONS. Words one edit away are found by
spelling out every string one edit from the typed word (_one_edit, as Norvig's spelling
corrector does: ~300 for a five-letter word) and looking them up by the dictionary's key, an
exact answer in about a millisecond whatever the dictionary's size. Only a word of six letters
or more with nothing one edit away, or one with letters beyond a-z, asks the dictionary's
trigram index for candidates (_TRIGRAM_SQL), kept if within its edits: farther spellings are
offered only when no nearer one exists ("jonson" gives johnson and jhonson, not henson). A
typed word that is in the dictionary keeps its neighbours too ("John Smith" for a user who may
see no John Smith finds Jon Smith); the search reads the rows matching the closest corrections
first (search_branches.whole_words_first), so an exact word is never crowded out.

When it does not apply (corrections() returns None, and the trigram tier runs as before): no
word long enough to correct (all shorter than MIN_TRIGRAM_LENGTH or with a digit), or a word of
letters for which the dictionary has nothing close (a typo inside an email's name part,
"jsmtih"). global_search also runs the trigram tier when the corrections find nothing the user
may see: the dictionary holds hidden records' words too. Words it does not correct (short, or
with a digit or an underscore) are matched as prefixes, as in the full-text tier.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from rapidfuzz.distance import OSA

from crm.models.search_words import MAX_WORD, TABLE
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
# The trigram similarity from which the dictionary's index proposes a word (_TRIGRAM_SQL, two
# edits). Below the trigram tier's 0.3: edits break most of a word's trigrams ("wilhlmna" and
# "wilhelmina" share 5 of 15), and here the edit distance, not the trigrams, decides what is
# kept. Before one-edit words were spelt out, this index proposed every candidate: of 200
# mistyped names (scripts/search_typo_recall.py) 0.3 found 88%, 0.25 95.5%, 0.2 96.5%
# (docs/benchmarks.md, session 15).
CANDIDATE_THRESHOLD = 0.25
MAX_EDITS = 2
# Corrections kept per typed word, closest first: enough for every spelling of a name in use
# ("jonson": johnson, jhonson, jonsson), few enough that the full-text query stays small.
MAX_CORRECTIONS = 12

# The dictionary's trigram candidates for typed words (normalised like search_text): trigram
# similarity from CANDIDATE_THRESHOLD, and a length that differs from the typed word's by at
# most the edits it allows. The index holds both (searchword_trgm: the length through
# btree_gin), so only words of those lengths are rechecked: at a 100,000-word dictionary the
# trigram condition alone rechecked 8,000 words for "mary" (22 ms), most of them too long or
# short to be one edit away (docs/benchmarks.md, session 15). Only for what _one_edit cannot
# answer: two edits, and words of other scripts.
_TRIGRAM_SQL = f"""
SELECT q.n, w.word
FROM (SELECT typed, n, CASE WHEN length(typed) <= {SHORT_WORD} THEN 1 ELSE {MAX_EDITS} END AS e
      FROM unnest(%s::text[]) WITH ORDINALITY AS u(typed, n)) AS q
CROSS JOIN LATERAL (
    SELECT word FROM {TABLE}
    WHERE word %% q.typed
      AND length(word) BETWEEN length(q.typed) - q.e AND length(q.typed) + q.e
) AS w
"""  # noqa: S608 (constants only)


@dataclass(frozen=True)
class Corrections:
    """The typo tier's two full-text queries, as to_tsquery text: `closest`, each word's
    nearest corrections (read first), and `every`, all of them."""

    closest: str
    every: str


def corrections(query: str) -> Corrections | None:
    """The corrected full-text queries for `query` (normalised), or None when the dictionary
    cannot correct it (see the module's docstring). Two short queries: the words normalised
    like search_text, then their one-edit neighbours looked up by key; a third, through the
    trigram index, only for a word of six letters or more with no neighbour one edit away, or
    of letters beyond a-z."""
    words = query_words(query)
    if len(query) < MIN_TRIGRAM_LENGTH or not words:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lower(public.f_unaccent(w)) FROM unnest(%s::text[]) WITH ORDINALITY"
            " AS q(w, n) ORDER BY n",
            [words],
        )
        typed = [word for (word,) in cursor.fetchall()]
        wanted = [i for i, word in enumerate(typed) if _correctable(word)]
        candidates: dict[int, list[str]] = {i: [] for i in wanted}
        spelt = {i: _one_edit(typed[i]) for i in wanted if typed[i].isascii()}
        if spelt:
            cursor.execute(
                f"SELECT word FROM {TABLE} WHERE word = ANY(%s)",  # noqa: S608 (a constant)
                [sorted(set().union(*spelt.values()))],
            )
            held = {word for (word,) in cursor.fetchall()}
            for i, variants in spelt.items():
                candidates[i] = sorted(variants & held)
        rest = [
            i
            for i in wanted
            if not candidates[i] and (i not in spelt or len(typed[i]) > SHORT_WORD)
        ]
        if rest:
            # Transaction-local, like the trigram tier's (search_terms.use_search_threshold).
            cursor.execute(
                "SELECT set_config('pg_trgm.similarity_threshold', %s, true)",
                [str(CANDIDATE_THRESHOLD)],
            )
            cursor.execute(_TRIGRAM_SQL, [[typed[i] for i in rest]])
            for n, word in cursor.fetchall():
                candidates[rest[n - 1]].append(word)
    closest, every, corrected = [], [], False
    for i, word in enumerate(typed):
        if i not in candidates:
            term = _prefix(word)
            closest.append(term)
            every.append(term)
            continue
        near = _nearest(word, candidates[i])
        if not near:
            return None  # a word the dictionary has nothing close to: the trigram tier's
        corrected = True
        best = near[0][0]
        closest.append(_any(w for d, w in near if d == best))
        every.append(_any(w for _, w in near))
    if not corrected:
        return None
    return Corrections(" & ".join(closest), " & ".join(every))


def _one_edit(word: str) -> set[str]:
    """`word` and every string one edit from it (a letter dropped, two neighbours swapped, a
    letter replaced or added, a-z), as Norvig's spelling corrector spells them out: ~290 for
    five letters, looked up by the dictionary's key in well under a millisecond.

    Why not the trigram index for these: a short word has few trigrams, so a typo shares
    only a couple with its word ("mery" and "mary" 2 of 8) and the similarity that admits it
    admits every word sharing the first two letters: 4-6 ms of rechecks for "mary" in a
    100,000-word dictionary, and still not every neighbour."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    variants = {word}
    variants.update(a + b[1:] for a, b in splits if b)
    variants.update(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1)
    variants.update(a + c + b[1:] for a, b in splits if b for c in letters)
    variants.update(a + c + b for a, b in splits for c in letters)
    return {v for v in variants if len(v) >= 2}


def _correctable(word: str) -> bool:
    # Only words of letters are in the dictionary (crm.models.search_words.WORD_PATTERN), of
    # at most MAX_WORD letters: a longer typed word (unaccent makes "ﬃ" three letters) is no
    # correction's, and spelling out its neighbours cost 0.4 s for 300 letters.
    return MIN_TRIGRAM_LENGTH <= len(word) <= MAX_WORD + MAX_EDITS and word.isalpha()


def _nearest(word: str, candidates: list[str]) -> list[tuple[int, str]]:
    """(edits, candidate) within the edits `word` allows, closest first, at most
    MAX_CORRECTIONS. Among as many edits, the ones keeping the first letter come first (people
    seldom mistype it: "mary" keeps mark and marc before bary and gary when a big dictionary
    has more neighbours than fit), then those of the same length."""
    allowed = 1 if len(word) <= SHORT_WORD else MAX_EDITS
    near = []
    for candidate in candidates:
        edits = OSA.distance(word, candidate, score_cutoff=allowed)
        if edits <= allowed:
            near.append(
                (edits, candidate[0] != word[0], abs(len(candidate) - len(word)), candidate)
            )
    near.sort()
    return [(edits, candidate) for edits, _, _, candidate in near[:MAX_CORRECTIONS]]


def _quoted(word: str) -> str:
    # A tsquery operand: quoted, its quotes doubled and backslashes escaped, so whatever the
    # word holds (unaccent turns a few letters into quotes) to_tsquery reads one operand.
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _prefix(word: str) -> str:
    return _quoted(word) + ":*"


def _any(words: Iterable[str]) -> str:
    return "(" + " | ".join(_quoted(w) for w in words) + ")"
