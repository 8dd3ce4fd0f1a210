"""The proof that the import lost nothing (`manage.py validate_mongo_migration`, issue #6).

Four layers, each a module: counts (every document imported or logged), samples (random
documents compared column by column), references (every resolved reference and link present,
no dangling foreign key) and column types. The source is read once, collection by collection
in batches, and each batch is handed to the three layers that read documents, so memory stays
flat whatever the source's size; the last two checks read PostgreSQL only.

The validator writes nothing: the one mapping step that may create a row (the NextCRM
pipeline, in the stages' `prepare`) runs in a transaction that is rolled back.
"""

from __future__ import annotations

import random
import sys
from typing import TextIO

from migrations_mongo.mapping import SPECS
from migrations_mongo.sources import Source

from .column_types import ColumnTypes
from .common import batches, prepared_context
from .counts import Counts
from .refs import References
from .report import Report
from .samples import Reservoir, Samples

__all__ = ["Report", "Reservoir", "validate"]


def validate(
    source: Source, *, sample: int = 100, seed: int = 0, progress: TextIO | None = sys.stderr
) -> Report:
    present = set(source.collections())
    counts, samples, references = Counts(), Samples(sample, random.Random(seed)), References()
    readers = (counts, samples, references)
    for spec in SPECS:
        if spec.collection not in present:
            continue
        # Once per collection, as the import did: conversions read it for every document.
        context = prepared_context(spec, source)
        for reader in readers:
            reader.start(spec)
        for batch in batches(source.documents(spec.collection)):
            for reader in readers:
                reader.feed(spec, batch, context)
        for reader in readers:
            reader.finish(spec, context)
        if progress is not None:
            print(f"checked {spec.collection}", file=progress, flush=True)
    references.check_database()
    types = ColumnTypes()
    types.check()
    known = {spec.collection for spec in SPECS}
    return Report(
        source=source.label,
        seed=seed,
        sample=sample,
        layers=[counts.layer, samples.layer, references.layer, types.layer],
        # system.* collections (a live server's own) are nobody's data.
        unknown=sorted(n for n in present - known if not n.startswith("system.")),
    )
