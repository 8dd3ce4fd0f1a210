"""Every word the searched records hold, once: the dictionary global search's typo tier
corrects typed words against (crm.selectors.search_typos), kept by triggers on the four
searched tables.

Why a dictionary: a typo search used to compare each typed word with the records' whole
search text through the trigram index of each table, and pg_trgm's GIN index reads every
posting list of the word's trigrams before the first row. A common name's trigrams ("  m",
" ma", "are") are in hundreds of thousands of rows at 1M contacts: 60-110 ms a page for
"Mrgaret" or "mary jonson", and the near-misses it ranked first were often other words that
shared trigrams across a space ("Mr Garrett"). The same trigram index over the distinct words
(a few thousand in the scale dataset, ~100,000 in a large real one) answers in a millisecond,
and the corrected words are then whole words for the full-text index (docs/benchmarks.md,
session 15). PostgreSQL's pg_trgm documentation suggests exactly this for spelling
suggestions.

What it holds: the lexemes of `to_tsvector('simple', search_text)` (the full-text index's own
words, so a correction always matches it) made only of what PostgreSQL's `[[:alpha:]]` calls
letters, 2 to 40 of them. Emails, hosts and numbers are left out (a typo in one of those is left
to the trigram tier), all but a word with digits of other scripts (Arabic-Indic ones pass
`[[:alpha:]]` under C.UTF-8): such a word is kept, and a typed one is matched as a prefix.

Why triggers: every writer (the app, both imports, a bulk UPDATE, psql) adds its words in the
same statement, as the stage totals do (crm.models.stage_totals). Statement-level, over the
transition table: one read of the statement's distinct words against the dictionary however
many rows it wrote, which after the first thousand records nearly always finds them all there
and writes nothing. Only a statement with new words writes, and first takes a transaction-level
advisory lock (the dictionary table's oid): two transactions each adding new words would
otherwise wait on each other's uncommitted words in opposite orders across statements (A adds
"zz" then "aa", B "aa" then "zz") and deadlock; with the lock the second waits for the first to
commit. Transactions that add no new word never wait, on it or on `rebuild_search_words`.

Words are never deleted by the triggers: counting which record still holds a word would make
every write to a common name's record update one hot row. A word nobody holds any more only
offers a correction that matches nothing. `manage.py rebuild_search_words` rebuilds the table
from the records (and the migration that created it used the same SQL).

Not audited (audit.tracking.NOT_AUDITED_MODELS): derived, like the stage totals.
"""

from __future__ import annotations

import pgtrigger
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F
from django.db.models.functions import Length

TABLE = "crm_searchword"
# The searched tables (crm.selectors.search_types): each has search_text and these triggers.
SEARCHED_TABLES = ("crm_company", "crm_contact", "crm_lead", "crm_deal")
# A word as the dictionary keeps it: letters only (any script; search_text is unaccented).
MAX_WORD = 40
WORD_PATTERN = f"^[[:alpha:]]{{2,{MAX_WORD}}}$"


def words_of(rows: str) -> str:
    """SELECT of the distinct dictionary words of `rows` (a table or transition table with
    search_text), in word order."""
    return (
        "SELECT DISTINCT word FROM "  # noqa: S608 (constants only)
        f"{rows} AS r, unnest(tsvector_to_array(to_tsvector('simple'::regconfig, r.search_text)))"
        f" AS word WHERE word ~ '{WORD_PATTERN}'"
    )


def insert_words(select: str) -> str:
    return f"INSERT INTO {TABLE} (word) {select} ORDER BY word ON CONFLICT DO NOTHING"


def _add_new_words(select: str) -> str:
    """A trigger body adding the words of `select` the dictionary lacks, under the advisory
    lock (see the module's docstring)."""
    return f"""
    SELECT array_agg(w.word ORDER BY w.word) INTO fresh FROM ({select}) AS w
    WHERE NOT EXISTS (SELECT 1 FROM {TABLE} AS d WHERE d.word = w.word);
    IF fresh IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock('{TABLE}'::regclass::oid::bigint);
        {insert_words("SELECT unnest(fresh) AS word")};
    END IF;
    RETURN NULL;
    """  # noqa: S608 (constants only)


def _changed(new: str, old: str) -> str:
    # Only rows whose text changed: an update of an amount or a stage adds no word.
    return (
        f"(SELECT n.search_text FROM {new} n JOIN {old} o ON o.id = n.id"  # noqa: S608
        " WHERE n.search_text IS DISTINCT FROM o.search_text)"
    )


# PostgreSQL allows transition tables only on single-event triggers: one trigger per event.
search_word_triggers = [
    pgtrigger.Trigger(
        name="search_words_insert",
        level=pgtrigger.Statement,
        when=pgtrigger.After,
        operation=pgtrigger.Insert,
        referencing=pgtrigger.Referencing(new="new_rows"),
        declare=[("fresh", "text[]")],
        func=_add_new_words(words_of("new_rows")),
    ),
    pgtrigger.Trigger(
        name="search_words_update",
        level=pgtrigger.Statement,
        when=pgtrigger.After,
        operation=pgtrigger.Update,
        referencing=pgtrigger.Referencing(old="old_rows", new="new_rows"),
        declare=[("fresh", "text[]")],
        func=_add_new_words(words_of(_changed("new_rows", "old_rows"))),
    ),
]


def rebuild_sql() -> list[str]:
    """The statements that refill the dictionary from every searched table."""
    every = " UNION ".join(words_of(table) for table in SEARCHED_TABLES)
    return [f"DELETE FROM {TABLE}", insert_words(f"SELECT word FROM ({every}) AS w")]  # noqa: S608


class SearchWord(models.Model):
    """One word some searched record holds (or held). Written only by the triggers above and
    rebuild_search_words: read it, never save it."""

    # A dictionary entry, not a CRM record: the word is its own key (no UUID, no history).
    word = models.TextField(primary_key=True)

    class Meta:
        indexes = [
            # Typo correction: words of about the typed one's length whose trigrams are close
            # to its own, `word % 'mrgaret' AND length(word) BETWEEN 5 AND 9`
            # (crm.selectors.search_typos). One GIN index over both, the length through
            # btree_gin: the trigram condition alone rechecked 8,000 words of a
            # 100,000-word dictionary for "mary", most of them of other lengths.
            GinIndex(
                Length("word"), OpClass(F("word"), name="gin_trgm_ops"), name="searchword_trgm"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(word__regex=WORD_PATTERN), name="searchword_is_a_word"
            ),
        ]

    def __str__(self) -> str:
        return self.word
