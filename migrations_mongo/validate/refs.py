"""Layer 3, referential integrity, both ways round.

From the source: every document is converted again (batch by batch, as the import did) and its
foreign keys (the `*_id` columns of the converted row, and of the rows made from it) compared
with its row; and every many-to-many claim of an imported document whose two ends resolve must
be a row of its link table, whichever side made the claim (the union of both sides, Q4).

From PostgreSQL: no foreign key of a crm or accounts table, link tables included, points at a
row that does not exist (an anti-join per foreign key).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.apps import apps
from django.db import connection, models

from migrations_mongo.document import Doc
from migrations_mongo.mapping import KIND_TABLES, LINKS, Spec

from . import common
from .report import Layer

APPS = ("crm", "accounts")


def foreign_keys(row: dict[str, Any]) -> list[str]:
    return [c for c in row if c.endswith("_id") and c != "legacy_id"]


def _resolved(table: str, column: str) -> str:
    """SQL for the row id an ObjectId resolves to, exactly as the links phase resolves it."""
    # Table and column names come from mapping.spec, never from the data.
    return (
        f"COALESCE((SELECT id FROM {table} WHERE legacy_id = c.{column}), "  # noqa: S608
        "(SELECT target_id FROM migrations_mongo_alias "
        f"WHERE object_id = c.{column} AND target_table = '{table}'))"
    )


class References:
    def __init__(self) -> None:
        self.layer = Layer("references", "Referential integrity")
        for name in (
            *("documents", "foreign_keys_compared", "links_checked", "links_missing"),
            *("foreign_keys_scanned", "dangling_rows"),
        ):
            self.layer.counts[name] = 0
        self._row: dict[str, Any] = {}
        self._links: dict[str, dict[str, int]] = {
            name: {"checked": 0, "missing": 0} for name in LINKS
        }

    def start(self, spec: Spec) -> None:
        self._row = self.layer.row(
            "collections", collection=spec.collection, documents=0, foreign_keys=0, mismatches=0
        )

    def finish(self, _spec: Spec, _context: dict[str, Any]) -> None:
        if not self._row["documents"]:
            self.layer.details["collections"].remove(self._row)

    def feed(self, spec: Spec, docs: list[dict[str, Any]], context: dict[str, Any]) -> None:
        if not spec.table:
            return
        replayed = common.replay(spec, docs, context)
        oids = [doc.oid for doc, _ in replayed.rows]
        merged = common.aliases(oids)
        columns = list(dict.fromkeys(c for _, row in replayed.rows for c in foreign_keys(row)))
        stored = common.rows_by_legacy_id(
            spec.table, columns, [oid for oid in oids if oid not in merged]
        )
        before = self.layer.failure_count
        for doc, row in replayed.rows:
            actual = stored.get(doc.oid)
            if actual is None:
                continue  # merged into another row, or not imported: layers 1 and 2 say which
            self._row["documents"] += 1
            self.layer.add("documents")
            self._compare(spec, spec.table, doc.oid, "", row, actual)
            for table, extra in doc.extra_rows.items():
                self._extra(spec, table, doc, extra)
        self._check_links(spec, [doc for doc, _ in replayed.rows])
        self._row["mismatches"] += self.layer.failure_count - before

    def _compare(
        self,
        spec: Spec,
        table: str,
        oid: str,
        prefix: str,
        expected: dict[str, Any],
        actual: dict[str, Any],
    ) -> None:
        for column in foreign_keys(expected):
            self._row["foreign_keys"] += 1
            self.layer.add("foreign_keys_compared")
            if not common.same(table, column, expected[column], actual[column]):
                self.layer.fail(
                    spec.collection, oid, prefix + column, expected[column], actual[column]
                )

    def _extra(self, spec: Spec, table: str, doc: Doc, rows: list[dict[str, Any]]) -> None:
        columns = list(dict.fromkeys(c for row in rows for c in foreign_keys(row)))
        stored = common.rows_by_legacy_id(table, columns, [row["legacy_id"] for row in rows])
        for row in rows:
            actual = stored.get(row["legacy_id"])
            if actual is not None:  # a missing row is reported by layer 2's sample
                prefix = f"{table}[{row['legacy_id']}]."
                self._compare(spec, table, doc.oid, prefix, row, actual)

    def _check_links(self, spec: Spec, docs: list[Doc]) -> None:
        """Each claim whose two ends resolve (so the claiming document was imported too) is a
        row of the link table; one query per link per batch, on an unnest of the claims."""
        # A pair claimed twice in the batch is checked once, in the name of its first claimer.
        claims: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
        for doc in docs:
            for name, left, right in doc.links:
                claims[name].setdefault((left, right), doc.oid)
        for name, pairs in claims.items():
            link = LINKS[name]
            left_table, right_table = KIND_TABLES[link.left_kind], KIND_TABLES[link.right_kind]
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT l, r, EXISTS (SELECT 1 FROM "  # noqa: S608 (names from mapping.spec)
                    f"{link.table} t WHERE t.{link.left_column} = c.left_pk "
                    f"AND t.{link.right_column} = c.right_pk) FROM ("
                    f"SELECT c.l, c.r, {_resolved(left_table, 'l')} AS left_pk, "
                    f"{_resolved(right_table, 'r')} AS right_pk "
                    "FROM unnest(%s::text[], %s::text[]) AS c(l, r)) c "
                    "WHERE left_pk IS NOT NULL AND right_pk IS NOT NULL",
                    [[left for left, _ in pairs], [right for _, right in pairs]],
                )
                found = cursor.fetchall()
            counts = self._links[name]
            for left, right, exists in found:
                counts["checked"] += 1
                self.layer.add("links_checked")
                if not exists:
                    counts["missing"] += 1
                    self.layer.add("links_missing")
                    self.layer.fail(
                        spec.collection,
                        pairs[(left, right)],
                        link.table,
                        f"a link {left} - {right}",
                        "no link row",
                    )

    def check_database(self) -> None:
        """The links per link table, then no dangling foreign key anywhere."""
        for name, counts in self._links.items():
            self.layer.row("links", link=name, table=LINKS[name].table, **counts)
        for model in [
            m
            for label in APPS
            for m in apps.get_app_config(label).get_models(include_auto_created=True)
        ]:
            for field in model._meta.concrete_fields:
                if field.many_to_one or field.one_to_one:
                    self._dangling(model, field)

    def _dangling(self, model: type[models.Model], field: models.Field) -> None:
        table, column = model._meta.db_table, field.column
        target = field.related_model._meta
        target_column = field.target_field.column
        # Examples name the source document where the row has one, so it can be looked up.
        has_legacy = any(f.column == "legacy_id" for f in model._meta.concrete_fields)
        key = "legacy_id" if has_legacy else model._meta.pk.column
        where = (
            f"FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {target.db_table} x WHERE x.{target_column} = t.{column})"
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) {where}")
            (dangling,) = cursor.fetchone()
            self.layer.add("foreign_keys_scanned")
            if not dangling:
                return
            self.layer.row("dangling", table=table, column=column, rows=dangling)
            self.layer.add("dangling_rows", dangling)
            cursor.execute(
                f"SELECT t.{key}, t.{model._meta.pk.column}, t.{column} {where} LIMIT %s",
                [5],
            )
            for legacy_or_pk, pk, value in cursor.fetchall():
                self.layer.fail(
                    table, str(legacy_or_pk or pk), column, f"a row of {target.db_table}", value
                )
