"""The search dictionary's one write outside its triggers (crm.models.search_words)."""

from __future__ import annotations

from django.db import connection, transaction

from crm.models.search_words import TABLE, rebuild_sql


@transaction.atomic
def search_words_rebuild() -> tuple[int, int]:
    """Refill the dictionary from every searched record, dropping words no record holds any
    more (the triggers only add). Returns (words before, words after). It locks the
    dictionary for the few seconds it takes (11 s at 1M contacts): writers of the searched
    tables that add new words wait for it, so none is lost between the delete and the
    insert; writes whose words are all known read the dictionary only and do not wait."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE")
        cursor.execute(f"SELECT count(*) FROM {TABLE}")  # noqa: S608 (a constant)
        (before,) = cursor.fetchone()
        for sql in rebuild_sql():
            cursor.execute(sql)
        cursor.execute(f"SELECT count(*) FROM {TABLE}")  # noqa: S608 (a constant)
        (after,) = cursor.fetchone()
    return before, after
