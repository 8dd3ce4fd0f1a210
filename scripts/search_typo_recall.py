"""How often global search finds the contact someone meant when they mistyped its name, and
how long it took: the typo tier through the word dictionary (crm.selectors.search_typos)
against the trigram tier it replaced, on a seed_scale database.

    .venv/bin/python scripts/search_typo_recall.py --database-url URL [--user manager01]

Queries: `--sample` contacts the user may see, drawn with TABLESAMPLE ... REPEATABLE (the same
ones every run on the same database), each searched as "First Last" with one typo in one of
the two names (a swap of two neighbours, a letter dropped, doubled or replaced: the kinds
people make), both drawn from `--seed`. Names under four letters are left as typed. For each
query: whether the contact is among the five contacts shown, and the search's time
(global_search in this process, SQL included). "trigram" is the same search with the
dictionary switched off (search_typos.corrections returning None), which is what global search
did before it. A typo that makes another real name ("Ann" -> "Anne") is found by the
full-text tier in both, as users get it.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def typo(word: str, rng: random.Random) -> str:
    """`word` with one typo of a random kind at a random place (not its first letter)."""
    mistyped = word
    while mistyped == word:  # swapping "tt" changes nothing
        mistyped = _one_typo(word, rng)
    return mistyped


def _one_typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "double", "replace"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    letter = rng.choice([c for c in "aeioustrnl" if c != word[i].lower()])
    return word[:i] + letter + word[i + 1 :]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--user", default="manager01", help="a seed_scale account's name")
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--misses", action="store_true", help="print each query not found")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from accounts.models import User
    from crm.models import Contact
    from crm.selectors import search

    user = User.objects.get(email=f"{args.user}@scale.minicrm.local")
    rng = random.Random(args.seed)
    # A fixed sample: 0.5% of the table's pages, repeatable, the user's visible ones.
    sampled = list(
        Contact.objects.raw(
            "SELECT id, first_name, last_name FROM crm_contact TABLESAMPLE SYSTEM (0.5) "
            "REPEATABLE (%s) ORDER BY id",
            [args.seed],
        )
    )
    visible = set(
        Contact.objects.visible_to(user)
        .filter(pk__in=[c.pk for c in sampled])
        .values_list("pk", flat=True)
    )
    queries = []
    for contact in sampled:
        if contact.pk not in visible or len(contact.first_name) < 2 or len(contact.last_name) < 2:
            continue
        names = [contact.first_name, contact.last_name]
        long_ones = [i for i, name in enumerate(names) if len(name) >= 4]
        if not long_ones:
            continue
        i = rng.choice(long_ones)
        names[i] = typo(names[i], rng)
        queries.append((" ".join(names), str(contact.pk)))
        if len(queries) == args.sample:
            break

    def run(label: str) -> None:
        found, times = 0, []
        for query, pk in queries:
            search.global_search(user=user, query=query)  # warm: compiled once per shape
            started = time.perf_counter()
            results = search.global_search(user=user, query=query)
            times.append((time.perf_counter() - started) * 1000)
            shown = [h for g in results.groups if g.key == "contacts" for h in g.hits]
            hit = any(pk in h.url for h in shown)
            found += hit
            if args.misses and not hit:
                print(f"  missed {query!r}: {[h.title for h in shown]}")
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(
            f"{label:10} found {found}/{len(queries)} ({100 * found / len(queries):.1f}%)"
            f"   p50 {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms"
        )

    print(f"{len(queries)} mistyped names of contacts {args.user} may see (seed {args.seed})")
    print("e.g. " + ", ".join(q for q, _ in queries[:6]))
    run("dictionary")
    real = search.corrections
    search.corrections = lambda query: None
    try:
        run("trigram")
    finally:
        search.corrections = real
    return 0


if __name__ == "__main__":
    sys.exit(main())
