"""What global search ranks first, for queries drawn from a seed_scale database: to compare two
commits' hits when a change to search claims to keep (or improve) them.

    .venv/bin/python scripts/search_relevance.py --database-url URL --json head.json
    .venv/bin/python scripts/search_relevance.py --database-url URL --checkout /tmp/base \
        --json base.json
    .venv/bin/python scripts/search_relevance.py --compare base.json head.json

Queries: first and last names, the first 3 letters of the first and 4 of the last, "first la"
(two letters of the last name), the first 6 characters of the email's local part and whole
emails of a fixed sample of contacts, and company names and their first 5 letters (TABLESAMPLE
... REPEATABLE, so both runs draw the same ones from the same database). For each query and
type, the full-text tier's five hits as `user` sees them, each with its two ranks (word
similarity to the query, then similarity of the whole text: crm.selectors.search).

--compare prints how many type groups show the same ranks, better or worse ones (compared in
order, word rank first), how often the top hit's word rank differs, and the mean word rank of
the hits shown. Which rows come back among equal ranks is the plan's choice, so equal rank
lists count as the same; one differing hit decides "better" or "worse", closeness included
(a group can be "worse" by the closeness of its fifth hit alone).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="a seed_scale database")
    parser.add_argument("--user", default="manager01", help="a seed_scale account's name")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the code to rank with")
    parser.add_argument("--json", type=Path, help="where to write the hits")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BASE", "HEAD"))
    args = parser.parse_args(argv)
    if not args.compare and not (args.database_url and args.json):
        parser.error("--database-url and --json, or --compare BASE HEAD")
    return args


def _queries(cursor) -> list[str]:
    cursor.execute(
        "SELECT first_name, last_name, email FROM crm_contact"
        " TABLESAMPLE BERNOULLI (0.01) REPEATABLE (7) ORDER BY id LIMIT 60"
    )
    queries = set()
    for first, last, email in cursor.fetchall():
        first, last = first.lower(), last.lower()
        queries |= {first, last, first[:3], last[:4], f"{first} {last[:2]}"}
        if email:
            queries |= {email.lower(), email.split("@")[0][:6].lower()}
    cursor.execute(
        "SELECT name FROM crm_company TABLESAMPLE BERNOULLI (0.1) REPEATABLE (7)"
        " ORDER BY id LIMIT 20"
    )
    for (name,) in cursor.fetchall():
        queries |= {name.lower(), name.split()[0][:5].lower()}
    return sorted(q for q in queries if q.strip())


def rank(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(args.checkout.resolve()))
    os.chdir(args.checkout)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from accounts.models import User
    from crm.selectors import search
    from crm.selectors.search_types import _TYPES

    user = User.objects.get(email=f"{args.user}@scale.minicrm.local")
    with connection.cursor() as cursor:
        queries = _queries(cursor)
    hits = {}
    with transaction.atomic():
        for query in queries:
            typed = search.normalise_query(query)
            for kind in _TYPES:
                rows = search._tier_rows(user, kind, typed, 5, "full_text")
                hits[f"{query}|{kind.key}"] = [
                    [round(row["search_rank"], 4), round(row["search_closeness"], 4)]
                    for row in rows
                ]
    args.json.write_text(json.dumps(hits, indent=0))
    print(f"{len(queries)} queries x {len(_TYPES)} types as {args.user}: {args.json}")
    return 0


def compare(base_path: Path, head_path: Path) -> int:
    base, head = json.loads(base_path.read_text()), json.loads(head_path.read_text())
    keys = sorted(set(base) & set(head))
    same = better = worse = top_better = top_worse = emptied = 0
    for key in keys:
        old, new = base[key], head[key]
        if old == new:
            same += 1
        elif new > old:
            better += 1
        else:
            worse += 1
        if old and new and new[0][0] != old[0][0]:
            top_better += new[0][0] > old[0][0]
            top_worse += new[0][0] < old[0][0]
        emptied += bool(old) != bool(new)

    def mean(hits: dict) -> float:
        ranks = [hit[0] for key in keys for hit in hits[key]]
        return sum(ranks) / len(ranks) if ranks else 0.0

    print(f"type groups compared: {len(keys)} (base {len(base)}, head {len(head)})")
    print(f"same ranks {same}, head better {better}, head worse {worse}")
    print(f"top hit's word rank: head higher {top_better}, head lower {top_worse}")
    print(f"groups found by one side only: {emptied}")
    print(f"mean word rank of the hits shown: base {mean(base):.4f}, head {mean(head):.4f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    return rank(args)


if __name__ == "__main__":
    sys.exit(main())
