"""Which dump a checkpoint belongs to, and what a run reads from it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from bson import ObjectId

from crm.models import Company, Stage
from migrations_mongo.mapping.people import PIPELINE_ID
from migrations_mongo.pipeline import Importer, SourceChanged
from migrations_mongo.sources import DumpSource
from tests.mongo.mongo_helpers import write_bson

pytestmark = pytest.mark.django_db


class Crash(Exception):
    pass


def companies(n: int, prefix: str = "Company") -> list[dict]:
    return [{"_id": ObjectId(), "name": f"{prefix} {i}"} for i in range(n)]


def importer(folder: Path, **kwargs) -> Importer:
    return Importer(DumpSource(folder), batch_size=2, progress=None, **kwargs)


def test_a_dump_replaced_by_one_of_the_same_size_is_another_source(dump) -> None:
    folder = dump(crm_Accounts=companies(3, "Alpha"))
    importer(folder).run()
    path = folder / "crm_Accounts.bson"
    before = path.stat()
    write_bson(folder, "crm_Accounts", companies(3, "Omega"))  # new ObjectIds, same length
    # A real replacement comes later than the first file; the test's two writes may share a
    # clock tick, so the later time is set outright.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert path.stat().st_size == before.st_size
    with pytest.raises(SourceChanged, match="--restart"):
        importer(folder).run()


def test_the_same_unchanged_dump_resumes_after_a_crash(dump) -> None:
    folder = dump(crm_Accounts=companies(5))
    seen = {"n": 0}

    def crash_on_second_batch(step: str) -> None:
        if step == "state":
            seen["n"] += 1
            if seen["n"] == 2:
                raise Crash

    with pytest.raises(Crash):
        importer(folder, hook=crash_on_second_batch).run()
    assert Company.objects.count() == 2
    importer(folder).run()
    assert Company.objects.count() == 5


def test_a_run_without_progress_bars_does_not_count_the_source(dump, monkeypatch) -> None:
    folder = dump(crm_Accounts=companies(3))
    counted: list[str] = []
    real_count = DumpSource.count

    def count(self: DumpSource, collection: str) -> int:
        counted.append(collection)
        return real_count(self, collection)

    monkeypatch.setattr(DumpSource, "count", count)
    importer(folder).run()  # progress=None, as --quiet
    assert counted == [] and Company.objects.count() == 3
    again = Importer(DumpSource(folder), progress=io.StringIO())
    again.restart()  # the collection is done: read it again, this time with a bar
    again.run()
    assert counted == ["crm_Accounts"]  # a bar to draw: its total is counted


def test_quiet_import_command_does_not_count_the_source(dump, run_import, monkeypatch) -> None:
    def refuse(self: DumpSource, collection: str) -> int:
        raise AssertionError(f"counted {collection}")

    monkeypatch.setattr(DumpSource, "count", refuse)
    assert run_import(dump(crm_Accounts=companies(3))) == 0  # quiet=True by default
    assert Company.objects.count() == 3


def test_stages_are_placed_by_probability_then_order_then_object_id(dump, run_import) -> None:
    ids = sorted(ObjectId() for _ in range(4))
    folder = dump(
        crm_Opportunities_Sales_Stages=[
            {"_id": ids[0], "name": "Won", "probability": 100, "order": 1},
            {"_id": ids[1], "name": "Unordered", "probability": 10},
            {"_id": ids[2], "name": "Second", "probability": 10, "order": 2},
            {"_id": ids[3], "name": "First", "probability": 10, "order": 1},
        ]
    )
    assert run_import(folder) == 0
    names = list(
        Stage.objects.filter(pipeline_id=PIPELINE_ID)
        .order_by("position")
        .values_list("name", flat=True)
    )
    assert names == ["First", "Second", "Unordered", "Won"]
