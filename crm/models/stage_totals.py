"""Open deals counted and summed per stage, kept by triggers on crm_deal: the board's and the
dashboard's stage totals without aggregating every open deal on each page view.

Why a table: at 200k deals a manager's board summed 30,000 visible open deals per request
(80 to 130 ms, a parallel sequential scan), and the cost grows with the data. One row here per
(stage, owner, shared_with_team, currency) holds the count and amount of that group's open
deals, so a board reads a few hundred rows whatever the number of deals.

Why those columns: they are exactly what the visibility rule of deals reads besides watchers
(crm.permissions: owner, team, shared_with_team), so the same rule filters these rows and
`permissions.owner_split()` says which watched deals it leaves out (counted live, few).

Why triggers: every writer (the app, the Mongo import, a bulk UPDATE, psql) keeps the totals
right in the same transaction, with no job to run and nothing stale. Statement-level triggers
over transition tables: one grouped upsert per statement, however many rows it wrote. Groups
are upserted in key order, so two transactions touching the same groups lock them in the same
order and cannot deadlock on them; empty groups are deleted, so the table holds only groups
that have open deals. TRUNCATE of crm_deal empties it.

Not audited (audit.tracking.NOT_AUDITED_MODELS): it is derived, and every change to it is a
change to crm_deal, which is.
"""

from __future__ import annotations

from typing import Any

import pgtrigger
from django.conf import settings
from django.db import models

from .lookups import Stage

TABLE = "crm_dealstagetotal"
_KEY = "stage_id, owner_id, shared_with_team, currency"


def _delta(rows: str, sign: str) -> str:
    return (
        f"SELECT {_KEY}, {sign}count(*) AS n, {sign}sum(amount) AS total "  # noqa: S608 (constants)
        f"FROM {rows} WHERE status = 'open' GROUP BY {_KEY}"
    )


def _apply(deltas: str) -> str:
    """SQL adding grouped (key, n, total) `deltas` to the totals, then dropping empty groups."""
    return f"""
    WITH delta AS (
        SELECT {_KEY}, sum(n) AS n, sum(total) AS total FROM ({deltas}) d
        GROUP BY {_KEY} HAVING sum(n) <> 0 OR sum(total) <> 0
    ), upserted AS (
        INSERT INTO {TABLE} AS t ({_KEY}, deal_count, amount_total)
        SELECT {_KEY}, n, total FROM delta ORDER BY {_KEY}
        ON CONFLICT ({_KEY}) DO UPDATE
            SET deal_count = t.deal_count + EXCLUDED.deal_count,
                amount_total = t.amount_total + EXCLUDED.amount_total
        RETURNING t.id, t.deal_count
    )
    SELECT array_agg(id) INTO emptied FROM upserted WHERE deal_count = 0;
    -- A second statement: within one, the DELETE would not see the rows the upsert changed.
    IF emptied IS NOT NULL THEN
        DELETE FROM {TABLE} WHERE id = ANY (emptied);
    END IF;
    RETURN NULL;
    """  # noqa: S608 (constants only)


def _counting_trigger(operation: Any, old: str = "", new: str = "") -> pgtrigger.Trigger:
    """The AFTER ... FOR EACH STATEMENT trigger of one event, adding its transition tables'
    open deals (`new` counted in, `old` counted out) to the totals."""
    deltas = [_delta(rows, sign) for rows, sign in ((new, ""), (old, "-")) if rows]
    return pgtrigger.Trigger(
        name=f"stage_totals_{operation.name.lower()}",
        level=pgtrigger.Statement,
        when=pgtrigger.After,
        operation=operation,
        referencing=pgtrigger.Referencing(**{k: v for k, v in (("old", old), ("new", new)) if v}),
        declare=[("emptied", "bigint[]")],
        func=_apply(" UNION ALL ".join(deltas)),
    )


# PostgreSQL allows transition tables only on single-event triggers: one trigger per event.
stage_total_triggers = [
    _counting_trigger(pgtrigger.Insert, new="new_rows"),
    _counting_trigger(pgtrigger.Update, old="old_rows", new="new_rows"),
    _counting_trigger(pgtrigger.Delete, old="old_rows"),
    pgtrigger.Trigger(
        name="stage_totals_truncate",
        level=pgtrigger.Statement,
        when=pgtrigger.After,
        operation=pgtrigger.Truncate,
        func=f"DELETE FROM {TABLE}; RETURN NULL;",  # noqa: S608 (constant)
    ),
]


class DealStageTotal(models.Model):
    """Count and amount of the open deals of one stage, owner, sharing and currency. Written
    only by the triggers above: read it, never save it."""

    # A counter row, not a CRM record: no UUID, no history, no page.
    id = models.BigAutoField(primary_key=True)
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+", db_index=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    shared_with_team = models.BooleanField()
    currency = models.CharField(max_length=3)
    deal_count = models.BigIntegerField()
    amount_total = models.DecimalField(max_digits=24, decimal_places=2)

    class Meta:
        indexes = [
            # Deleting a user looks their counter rows up (the FK); the key index leads by stage.
            models.Index(fields=["owner"], name="dealstagetotal_owner_idx"),
        ]
        # No CHECK (deal_count >= 0): PostgreSQL checks the row an upsert proposes before it
        # finds the conflict, and a stage's "-1" delta is such a row. That the counters add up
        # is tested against a GROUP BY of crm_deal instead (tests/crm/test_stage_totals.py).
        constraints = [
            # The upsert's conflict target; also serves "totals of these stages" (stage first).
            # NULLS NOT DISTINCT: deals without an owner are one group, not one row each.
            models.UniqueConstraint(
                fields=["stage", "owner", "shared_with_team", "currency"],
                name="dealstagetotal_key",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stage_id} {self.owner_id} {self.currency}: {self.deal_count}"
