"""Global search: companies, contacts, leads and deals matching what the user typed.

Two tiers, both served by the GIN indexes on `search_text` (crm/search.py):
1. full text, one query per type: `to_tsvector('simple', search_text) @@ (plainto_tsquery(q)
   || 'joh':* & 'smi':*)`, the whole input as the parser reads it (an email, a phone) or every
   word as a prefix (type-ahead);
2. only when tier 1 found nothing in any type, typos, one more query per type: each typed
   word corrected to the words the records hold an edit or two away (the dictionary,
   search_typos), and those found whole by the full-text index, the closest read first:
   `... @@ to_tsquery('(john | jon) & (smith)')`. Where the dictionary has nothing close to
   a word (a typo inside an email) or that finds nothing visible, trigram word similarity
   over the whole text instead, every word close to a word of the text: `search_text %>
   'jonh' AND search_text %> 'smiht'` (search_terms.typo_match). A typo in a short word
   scores about 0.4, below pg_trgm's default threshold of 0.6, so the threshold is lowered
   with `set_config(..., true)` for the transaction the searches run in.
Each tier reads at most CANDIDATES rows (LIMIT without ORDER BY, so a bitmap heap scan stops
early) and only those are ranked (word similarity, then similarity of the whole text): a query
matching half the table ("exa", "555") costs the same as a rare name. Tier 1 reads the rows
matching the typed words whole first, then the prefix matches (whole_words_first): a whole word is
always ranked when the prefix matches thousands of rows, and a common word ("john") needs no
prefix expansion at all; a query of one word then reads the names that start with it from
their btree indexes (names_starting), the prefix expansion last. Tier 2 is skipped
whenever words matched somewhere: at 1M contacts the trigram tier of "John Smith" costs
~120 ms on a table where the words match nothing (the planner misjudges how many rows `%>`
keeps and scans), the full-text tier ~10 ms; a typo finds no words and goes to tier 2 (~15 ms
through the trigram index).
global_search runs both tiers fenced on a big table (_fenced_hits: the matches read first,
visibility tested per row, the plain query only when the fence was cut short; FENCE_FROM_ROWS)
and plain on the others (search_sql).
(`search_sql` without a `tier` still builds both tiers in one statement, the second behind a
one-time NOT EXISTS filter, for callers that search one type.)
Both tiers repeat the index expressions exactly and drop the models' default `-updated_at`
ordering, which would steer the planner to the updated_at index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.core.cache import caches
from django.core.exceptions import EmptyResultSet, PermissionDenied
from django.db import transaction
from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    F,
    IntegerField,
    Model,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import RawSQL
from django.urls import reverse

from crm import permissions
from crm.fence import fenced_sql
from crm.kept import dict_rows as _rows
from crm.kept import kept_sql
from crm.pagination import table_row_estimates
from crm.search import SearchTerm
from crm.selectors.search_branches import whole_words_first
from crm.selectors.search_terms import (
    MIN_TRIGRAM_LENGTH,
    corrected_match,
    exact_text_match,
    full_text_match,
    names_starting,
    normalise_query,
    one_word,
    query_words,
    typo_match,
    use_search_threshold,
)
from crm.selectors.search_types import (
    _BY_MODEL,
    _TYPES,
    SearchGroup,
    SearchResults,
    _name_companies,
    _Type,
)
from crm.selectors.search_typos import Corrections, corrections

# Rows each tier reads and ranks at most: bounds the cost of a query matching half the table.
# Ranking costs ~20 us a row (two trigram comparisons with the row's whole search text), so
# 200 cost a common prefix's search ~4 ms a type at 1M contacts; beyond this many matches the
# rows read are the table's order's choice, not the best ones, except the whole-word matches
# read first (whole_words_first), so 100 find about as good hits (docs/benchmarks.md, session 13).
CANDIDATES = 100
# Matches a tier reads at most before it tests their visibility (_fenced_hits): enough
# for a user who sees one row in 50 to find CANDIDATES.
FENCE_SCAN = 5000
# The full-text tier reads a table fenced only from this many rows up: there a user's
# visible rows make a bitmap too big to AND cheaply with the matches (a manager's 280,000 of
# 1M contacts), and the fence's own compilation and numbering (~2 ms) pay off. Plain, the
# 100,000 companies and 200,000 leads and deals searched 1-5 ms faster per type at 1M
# contacts, also when nothing matched (the typo searches' first tier); contacts fenced stay
# 2-3x faster for a common prefix ("joh", "mar"). Table sizes from pg_class, kept a while.
FENCE_FROM_ROWS = 500_000
TABLE_ROWS_SECONDS = 600


def _hit_values(query: str, columns: dict[str, Any]) -> dict[str, Any]:
    """What a candidate row carries, in both tiers and fenced or not: its key, the hit's
    columns and its two ranks."""
    normalised = SearchTerm(Value(query))
    return {
        "h_id": F("pk"),
        **columns,
        "search_rank": TrigramWordSimilarity(normalised, "search_text"),
        "search_closeness": TrigramSimilarity("search_text", normalised),
    }


def _tier(
    rows: QuerySet,
    condition: Q,
    query: str,
    columns: dict[str, Any],
    *,
    first: Q | None = None,
    names: Sequence[Q] = (),
) -> tuple[str, tuple]:
    """One tier's SQL: the matching visible rows, at most CANDIDATES, with their rank; with
    `first` (the full-text tier's whole words, exact_text_match), the rows matching it are
    read before the others, then those matching `names` (whole_words_first)."""
    ranked = rows.order_by().values(**_hit_values(query, columns))
    if first is None:
        return ranked.filter(condition)[:CANDIDATES].query.sql_with_params()
    chosen = whole_words_first(ranked, first, condition, CANDIDATES, names)
    return chosen.query.sql_with_params()


def search_sql(
    *,
    user: Any,
    model: type[Model],
    query: str,
    limit: int,
    tier: str | None = None,
    words: Sequence[str] | None = None,
    names: bool | None = None,
    corrected: Sequence[str] = (),
) -> tuple[str, list]:
    """The SQL and parameters of one type's search (global_search runs it; tests EXPLAIN it):
    visible rows of `model` matching `query`, full-text matches first, best first. `tier`
    "full_text" or "fuzzy" asks for one tier only; None for both, the typo tier running only
    when full text found nothing. Empty SQL when there is nothing to search for. Typo matching
    needs the lowered threshold (`use_search_threshold()`) in the same transaction. `words`:
    query_words(query), given; `names`: one_word(query), given (a kept query is built from
    stand-ins for the typed text, which say nothing of its shape). `tier` "corrected": the
    typo tier through the dictionary, `corrected` its two queries (Corrections' closest and
    every), the closest read first."""
    query = normalise_query(query)
    columns = _BY_MODEL[model].columns
    # Visibility first, as everywhere; the tiers narrow what it allows.
    visible = model._default_manager.visible_to(user)
    if tier == "corrected":
        # One tier, its closest corrections read first, as tier 1 reads whole words first.
        first, fuzzy = (corrected_match(text) for text in corrected)
        full_text = None
    else:
        full_text = full_text_match(query, words) if tier in (None, "full_text") else None
        fuzzy = typo_match(query, words) if tier in (None, "fuzzy") else None
        first = exact_text_match(query) if full_text is not None else None
    order = "ORDER BY search_tier, search_rank DESC, search_closeness DESC, h_id"
    if full_text is None and fuzzy is None:
        return "", []
    if names is None:
        names = one_word(query, words)
    starts = names_starting(query, _BY_MODEL[model].names) if names and full_text else []
    if fuzzy is None or full_text is None:
        try:
            sql, params = _tier(
                visible, full_text or fuzzy, query, columns, first=first, names=starts
            )
        except EmptyResultSet:  # a user who may see nothing of this type
            return "", []
        # ORM-compiled SQL with its parameters kept apart: no input is pasted into the text.
        return f"SELECT *, 0 AS search_tier FROM ({sql}) AS hits {order} LIMIT %s", [  # noqa: S608
            *params,
            limit,
        ]
    try:
        sql1, params1 = _tier(visible, full_text, query, columns, first=first, names=starts)
        sql2, params2 = _tier(visible, fuzzy, query, columns)
    except EmptyResultSet:  # a user who may see nothing of this type
        return "", []
    return (
        f"WITH full_text AS MATERIALIZED ({sql1}) "  # noqa: S608 (as above)
        "SELECT * FROM ("
        "SELECT full_text.*, 0 AS search_tier FROM full_text UNION ALL "
        f"SELECT fuzzy.*, 1 FROM ({sql2}) AS fuzzy "
        "WHERE NOT EXISTS (SELECT 1 FROM full_text)"
        f") AS hits {order} LIMIT %s",
        [*params1, *params2, limit],
    )


def global_search(*, user: Any, query: str | None, limit_per_type: int = 5) -> SearchResults:
    """Companies, contacts, leads and deals `user` may see that match `query` (names, emails,
    phones, domains; prefixes and typos too), at most `limit_per_type` of each, best first,
    grouped by type in a fixed order. An empty query returns empty groups without a query.

    Full text runs first for every type (one query each). Only when no type matched at all
    does the typo tier run (one more query each, after the one setting its threshold): when
    the words matched somewhere, near-misses elsewhere are noise, and the typo tier is the
    expensive one on a table where the words match nothing (docs/benchmarks.md)."""
    query = normalise_query(query)
    results = SearchResults(query=query)
    if not query:
        return results
    with transaction.atomic():
        results.groups = _search_pass(user, query, limit_per_type, "full_text")
        if not results.total and typo_match(query) is not None:
            # Typos: the words corrected by the dictionary (search_typos); when that finds
            # nothing the user may see, the trigram tier over the records' whole text. The
            # dictionary holds every record's words, hidden and deleted ones too: ending with
            # an empty corrected search would hide the user's own near-misses (an email) and
            # say by its silence that some hidden record holds the word.
            fixes = corrections(query)
            if fixes is not None:
                results.groups = _search_pass(user, query, limit_per_type, "corrected", fixes)
            if fixes is None or not results.total:
                use_search_threshold()
                results.groups = _search_pass(user, query, limit_per_type, "fuzzy")
    return results


def _search_pass(
    user: Any, query: str, limit: int, tier: str, fixes: Corrections | None = None
) -> list[SearchGroup]:
    found = [(kind, _tier_rows(user, kind, query, limit, tier, fixes)) for kind in _TYPES]
    _name_companies(user, [row for _, rows in found for row in rows])
    groups = []
    for kind, rows in found:
        group = SearchGroup(kind.key, kind.label)
        group.hits = [kind.hit(row) for row in rows]
        groups.append(group)
    return groups


def _tier_rows(
    user: Any, kind: _Type, query: str, limit: int, tier: str, fixes: Corrections | None = None
) -> list[dict]:
    """One type's best `limit` hits in one tier: fenced (_fenced_hits) on a big table when it
    can answer, else the plain query (search_sql). Both tiers: the typo tier's trigram bitmap
    is a cost the fence does not avoid, but the visibility bitmap it was ANDed with is (17.8
    of 33 ms for "John Smith" in a manager's contacts at 1M). Fenced, the contacts' typo tier
    took 17-25 ms instead of 28-44 for managers, and from 5 ms less to 5 ms more for reps, who
    see fewer of the matches (docs/benchmarks.md, session 14); on the 200,000 leads it was
    slower, and those stay plain (FENCE_FROM_ROWS).

    Each query's SQL is compiled once per viewer's rules, type, tier and shape of the input
    (its number of words, whether it is long enough for trigrams), the typed text and words
    put in its parameters' places (crm.kept): compiling the four types' tiers, the rules in
    them, was ~5 ms of a search at 1M contacts, ~9 ms of one that reaches the typo tier. The
    corrected typo tier's values are the typed text and its two queries instead of the words."""
    words = query_words(query)
    rules = permissions.rules_key(user)
    # A one-word query reads names first (names_starting): another statement.
    names = one_word(query, words)
    shape = (kind.key, tier, len(words), names, len(query) >= MIN_TRIGRAM_LENGTH, limit)

    values = [query, *words] if fixes is None else [query, fixes.closest, fixes.every]

    def sql_of(name: str, build: Callable[..., tuple[str, list]]) -> tuple[str, list]:
        key = None if rules is None else (rules, "search", name, *shape)
        return kept_sql(key, build, values)

    if _fence_pays(kind.model):
        sql, params = sql_of(
            "fenced",
            lambda q, *w: _fenced_sql(user, kind, q, w, limit, names=names, tier=tier),
        )
        hits = _fenced_hits(sql, params)
        if hits is not None:
            return hits
    # Plain: the typo tier, or the fence stopped at FENCE_SCAN matches with too few visible.
    sql, params = sql_of(
        "plain",
        lambda q, *w: search_sql(
            user=user,
            model=kind.model,
            query=q,
            limit=limit,
            tier=tier,
            words=w if fixes is None else None,
            names=names,
            corrected=w if fixes is not None else (),
        ),
    )
    return _rows(sql, params) if sql else []


def _fence_pays(model: type[Model]) -> bool:
    """Whether `model`'s table has FENCE_FROM_ROWS rows or more (one query for every type's
    table, kept TABLE_ROWS_SECONDS per worker); a table without statistics counts as small."""
    sizes = caches["worker"].get("search:table-rows")
    if sizes is None:
        sizes = table_row_estimates([kind.model for kind in _TYPES])
        caches["worker"].set("search:table-rows", sizes, TABLE_ROWS_SECONDS)
    return (sizes.get(model._meta.db_table) or 0) >= FENCE_FROM_ROWS


def _fenced_sql(
    user: Any,
    kind: _Type,
    query: str,
    words: Sequence[str],
    limit: int,
    *,
    names: bool,
    tier: str = "full_text",
) -> tuple[str, list]:
    """The best `limit` of up to CANDIDATES visible rows matching `tier` (the full-text tier,
    or the typo tier in its transaction's settings), the matches read first (crm.fence) and
    each tested for visibility, as SQL for _fenced_hits; ("", []) when nothing can match.

    Why: filtered the plain way, PostgreSQL ANDs the matches' bitmap with a bitmap of every
    row the user may see (its choice of bitmaps ignores the LIMIT), and at 1M contacts a
    manager's visibility bitmap holds ~280,000 rows: 17-26 ms of a 30-36 ms prefix search for
    "joh". Fenced, the matches stream from the text index and the first CANDIDATES visible
    ones end the scan: 13-15 ms, and no slower for rare names.

    Why it cannot be the whole answer: a user who sees few of very many matches ("exa"
    matches half the table) would read them all, so the fence reads at most FENCE_SCAN
    matches. To learn whether it stopped there, the rows it passes over are not filtered out
    but kept with `fence_visible` false, and the FENCE_SCAN-th match is returned even when
    hidden (see _fenced_hits). For the "corrected" tier `words` are its two queries."""
    if tier == "corrected":
        condition = corrected_match(words[1])
    else:
        condition = (full_text_match if tier == "full_text" else typo_match)(query, words)
    if condition is None:
        return "", []
    try:
        rule = permissions.visible_condition(user, kind.model)
    except PermissionDenied:  # an inactive user: sees nothing
        return "", []
    model = kind.model
    table = model._meta.db_table
    seen = Value(True) if rule is None else ExpressionWrapper(rule, output_field=BooleanField())
    position = RawSQL(f'"{table}"."fence_n"', [], output_field=IntegerField())  # noqa: S611
    outer = (
        model._default_manager.order_by()
        .annotate(fence_visible=seen, fence_n=position)
        .filter(Q(fence_visible=True) | Q(fence_n=FENCE_SCAN))
        .values("fence_visible", "fence_n", **_hit_values(query, kind.columns))
    )[: CANDIDATES + 1]
    # Full text: whole-word matches first, then names, then the other matches; the fence
    # numbers and tests them in that order, each row once. Typos: in the index's order.
    matches = model._default_manager.order_by()
    if tier == "full_text":
        starts = names_starting(query, kind.names) if names else []
        read = whole_words_first(matches, exact_text_match(query), condition, FENCE_SCAN, starts)
    elif tier == "corrected":
        read = whole_words_first(matches, corrected_match(words[0]), condition, FENCE_SCAN)
    else:
        read = matches.filter(condition)[:FENCE_SCAN]
    try:
        sql, params = fenced_sql(outer, read, numbered=True)
    except EmptyResultSet:
        return "", []
    # Ranked in SQL like the plain query; every row carries how many visible candidates the
    # fence found and the last position it read. When nothing visible was found the hidden
    # FENCE_SCAN-th row, if read, is the one row that comes back, to say so.
    return (
        "SELECT * FROM (SELECT c.*, count(*) FILTER (WHERE fence_visible) OVER () AS fence_found,"  # noqa: S608
        f" max(fence_n) OVER () AS fence_last FROM ({sql}) AS c) AS hits"
        " WHERE fence_visible OR fence_found = 0"
        " ORDER BY fence_visible DESC, search_rank DESC, search_closeness DESC, h_id LIMIT %s",
        [*params, limit],
    )


def _fenced_hits(sql: str, params: list) -> list[dict] | None:
    """The hits of _fenced_sql's query; None when they cannot be trusted to be the best:
    fewer than CANDIDATES visible and the FENCE_SCAN-th match read means the fence was cut
    short (the caller runs the plain query). Hidden rows never leave this function."""
    if not sql:
        return []
    rows = _rows(sql, params)
    if rows and rows[0]["fence_found"] < CANDIDATES and rows[0]["fence_last"] == FENCE_SCAN:
        return None
    return [row for row in rows if row["fence_visible"]]


def search_url(query: str) -> str:
    """The full results page for `query`."""
    from urllib.parse import urlencode

    return f"{reverse('crm:search')}?{urlencode({'q': query})}"
