"""bench_pages' query hygiene (scripts/benchlib/hygiene.py): each SELECT of a page is
EXPLAINed in the planner settings its transaction ran it with, and only those."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from django.db import connection

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.benchlib.hygiene import _explained  # after the path is set

pytestmark = pytest.mark.django_db


def _settings(doc: dict) -> dict:
    return doc.get("Settings", {})


def test_each_select_is_explained_in_the_settings_its_transaction_had() -> None:
    captured = [
        {"sql": "SELECT 0 FROM accounts_user"},
        {"sql": "BEGIN"},
        {"sql": "SELECT set_config('enable_seqscan', 'off', true)"},
        {"sql": "SELECT 1 FROM accounts_user"},
        {"sql": "COMMIT"},
        {"sql": "SELECT 2 FROM accounts_user"},
        {"sql": "SELECT * FROM no_such_table"},
    ]
    docs = list(_explained(connection, captured))
    assert [sql for sql, _ in docs] == [
        "SELECT 0 FROM accounts_user",
        "SELECT 1 FROM accounts_user",
        "SELECT 2 FROM accounts_user",
        "SELECT * FROM no_such_table",
    ]
    before, during, after, failed = (doc for _, doc in docs)
    assert "enable_seqscan" not in _settings(before)
    assert _settings(during)["enable_seqscan"] == "off"
    assert "enable_seqscan" not in _settings(after)
    assert failed is None
    # Nothing of the replay outlives it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_seqscan')")
        assert cursor.fetchone() == ("on",)
