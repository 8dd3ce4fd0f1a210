"""The order in which global search's full-text tier reads its candidates
(crm.selectors.search): whole words, then names that start with a one-word query, then the
other matches, each row once."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import BooleanField, F, Func, Q, QuerySet, Subquery


class _Among(Func):
    """`key = ANY(ARRAY(subquery))`, the subquery run once (an InitPlan), not `key IN
    (subquery)`: the planner guesses NOT IN keeps half the rows, and with that guess a name
    branch of whole_words_first built the name index's whole bitmap ('mar%', 35,000 contacts,
    3-4 ms) instead of streaming its first rows (0.3 ms). Of `<> ALL` over an array it does
    not know it guesses a few rows left out. Only there: the full-text branch, a bitmap
    either way, planned ~0.6 ms slower with it (parallel plans weighed for more rows)."""

    template = "(%(expressions)s))"
    arg_joiner = " = ANY(ARRAY"
    output_field = BooleanField()


def whole_words_first(
    rows: QuerySet, whole: Q, condition: Q, limit: int, names: Sequence[Q] = ()
) -> QuerySet:
    """The first `limit` of `rows` matching `whole`, then of those matching each of `names` in
    turn, then of those matching `condition`, each leaving out what came before: `(whole LIMIT
    n) UNION ALL (names[0] LIMIT n) ... UNION ALL (the rest LIMIT n) LIMIT n`, each row once.
    The plain tier ranks them; the fenced one (search._fenced_sql) numbers and tests them in this
    order.

    Why: a common prefix matches thousands of rows ('joh':* 12,000 of 1M contacts), a tier
    reads `limit` of them in the table's order, and whole-word matches among them were luck.
    Read first, they always are ranked when there are any ('ada' finds Ada before Adams); and
    when the whole words alone fill the limit ('john', an email), the rest is never run:
    PostgreSQL's Append reads its second branch only if the LIMIT still wants rows, so the
    prefix expansion (7-10 ms for 'john':* at 1M contacts) is skipped.

    Why the rest excludes the first branch's keys rather than repeats being dropped after the
    union: its LIMIT counts rows as they come, so repeats would take places meant for rows not
    yet read, and a user's own prefix match could go unranked with fewer matches than the
    limit. The excluded keys are read only if a later branch runs, which is when the first
    read all its rows, fewer than `limit`: they are then the same ones, whatever their order
    (a hashed subplan; for the name branches an array, _Among).

    Why `names` (names_starting: for a one-word query, contacts whose first, then last, name
    starts with it): all prefix matches rank alike ('joh' is 0.75 of 'john', 'johnson' and
    'johanna'), so which of thousands are read hardly matters, but how does: the full-text
    index reads every match of a prefix into a bitmap before the first row ('joh':* 12,000
    contacts, 7 ms; 'mar':* 44,000, 21 ms at 1M contacts), a name index (name_starts_index)
    streams them in name order and stops at the limit. The full-text prefix branch then runs
    only when the names did not fill it (a word starting an email's domain, a phone). A row
    whose first and last names both start with the word is read once: each branch leaves out
    what the branches before it match (a LIKE per row; the whole words by their keys)."""
    read = rows.filter(whole).values("pk")[:limit]
    branches = [rows.filter(whole)[:limit]]
    among = Q(_Among(F("pk"), Subquery(read)))
    for i, starts in enumerate(names):
        branches.append(rows.filter(starts & ~among & ~Q(*names[:i], _connector=Q.OR))[:limit])
    rest = rows.filter(condition & ~Q(pk__in=read) & ~Q(*names, _connector=Q.OR))[:limit]
    return branches[0].union(*branches[1:], rest, all=True)[:limit]
