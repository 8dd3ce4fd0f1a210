"""The last phase: many-to-many links from the union of both sides' claims (Q4).

While collections are imported, each document's ObjectId arrays are stored as claims
(`PendingLink`). Once every collection is in, each link table gets the distinct pairs whose two
ends both resolved, a chunk of claims at a time, each chunk one transaction that also deletes
the claims it consumed: a run killed here resumes with the claims that are left, and
`ON CONFLICT DO NOTHING` makes a pair claimed by both sides, or seen again, one row.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection

from audit.bulk import audit_bulk_batch

from .document import article
from .mapping import KIND_TABLES, LINKS, Link

CHUNK = 50_000


def _resolved(alias: str, table: str, column: str) -> str:
    """SQL for the row id an ObjectId column of the chunk resolves to (legacy_id or Alias)."""
    # Table and column names come from mapping.spec, never from the data.
    return (
        f"COALESCE((SELECT id FROM {table} WHERE legacy_id = c.{column}), "  # noqa: S608
        f"(SELECT target_id FROM migrations_mongo_alias WHERE object_id = c.{column} "
        f"AND target_table = '{table}')) AS {alias}"
    )


def resolve_links(progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Turn every pending claim into link rows; returns the number of claims per link."""
    done: dict[str, int] = {}
    for name, link in LINKS.items():
        while count := _chunk(name, link):
            done[name] = done.get(name, 0) + count
            if progress:
                progress(name, count)
    return done


def _chunk(name: str, link: Link) -> int:
    left_table, right_table = KIND_TABLES[link.left_kind], KIND_TABLES[link.right_kind]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(id), max(id), count(*) FROM (SELECT id FROM migrations_mongo_pendinglink "
            "WHERE link = %s ORDER BY id LIMIT %s) chunk",
            [name, CHUNK],
        )
        first, last, count = cursor.fetchone()
    if not count:
        return 0
    details = {"link": name, "table": link.table, "claims": count}
    description = f"migrate_from_mongo: links {name}"
    with audit_bulk_batch(description=description, details=details), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS _mongo_links")
        cursor.execute(
            "CREATE TEMP TABLE _mongo_links ON COMMIT DROP AS "  # noqa: S608
            f"SELECT c.left_id, c.right_id, c.collection, c.claimed_by_left, "
            f"{_resolved('left_pk', left_table, 'left_id')}, "
            f"{_resolved('right_pk', right_table, 'right_id')} "
            "FROM migrations_mongo_pendinglink c WHERE c.link = %s AND c.id BETWEEN %s AND %s",
            [name, first, last],
        )
        cursor.execute(
            f"INSERT INTO {link.table} ({link.left_column}, {link.right_column}) "  # noqa: S608
            "SELECT DISTINCT left_pk, right_pk FROM _mongo_links "
            "WHERE left_pk IS NOT NULL AND right_pk IS NOT NULL "
            f"ON CONFLICT ({link.left_column}, {link.right_column}) DO NOTHING"
        )
        # A claim whose other end is not in the import is dropped, logged against the
        # document that made it.
        cursor.execute(
            "INSERT INTO migrations_mongo_importissue "
            "(collection, object_id, field, kind, reason, value, created_at) "
            "SELECT collection, CASE WHEN claimed_by_left THEN left_id ELSE right_id END, "
            "%s, 'warning', 'links to ' || CASE WHEN left_pk IS NULL THEN %s ELSE %s END "
            "|| ' that is not in the import; link dropped', "
            "jsonb_build_object('left', left_id, 'right', right_id), now() "
            "FROM _mongo_links WHERE left_pk IS NULL OR right_pk IS NULL",
            [name, article(link.left_kind), article(link.right_kind)],
        )
        cursor.execute(
            "DELETE FROM migrations_mongo_pendinglink WHERE link = %s AND id BETWEEN %s AND %s",
            [name, first, last],
        )
    return count
