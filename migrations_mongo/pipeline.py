"""The import run: every collection in dependency order, in batches, then the links.

Resumable by construction: each batch commits its rows together with the collection's
checkpoint (`CollectionState`), so a run killed at any moment (kill -9 included) left either
the whole batch and its checkpoint or neither, and the next run starts where the last commit
ended. Rows are keyed by ObjectId (`legacy_id`), so even a batch replayed from an older
checkpoint (or `--restart`) updates rows instead of duplicating them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from django.db import transaction
from django.db.models import Count
from tqdm import tqdm

from .links import resolve_links
from .mapping import SPECS, Spec
from .models import Alias, CollectionState, ImportIssue, Leftover, PendingLink
from .sources import Source, SourceError
from .writer import (
    BatchResult,
    Converted,
    Hook,
    _noop,
    convert_batch,
    import_batch,
    keep_batch,
    resolve,
)


class SourceChanged(SourceError):
    """The checkpoints belong to another source: resuming would skip the wrong documents."""


@dataclass
class CollectionReport:
    collection: str
    source: int = 0
    imported: int = 0
    skipped: int = 0
    failed: int = 0
    warnings: int = 0
    note: str = ""


@dataclass
class Report:
    collections: list[CollectionReport] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    links: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.collections)


class Importer:
    def __init__(
        self,
        source: Source,
        *,
        batch_size: int = 2000,
        progress: TextIO | None = sys.stderr,
        hook: Hook = _noop,
    ) -> None:
        self.source = source
        self.batch_size = batch_size
        self.progress = progress
        self.hook = hook

    def restart(self) -> None:
        """Forget checkpoints and the log; rows already imported stay and are updated in
        place by the new run. Aliases stay too: they say which rows merged documents own."""
        with transaction.atomic():
            for model in (CollectionState, ImportIssue, Leftover, PendingLink):
                model.objects.all().delete()

    def run(self) -> Report:
        present = set(self.source.collections())
        self._check_source(present)
        report = Report()
        for spec in SPECS:
            if spec.collection in present:
                self._collection(spec)
        known = {spec.collection for spec in SPECS}
        report.unknown = sorted(name for name in present - known if not name.startswith("system."))
        report.links = resolve_links(self._link_progress)
        report.collections = collection_reports(present)
        return report

    def _check_source(self, present: set[str]) -> None:
        for state in CollectionState.objects.all():
            if state.collection in present and state.source != self.source.identity(
                state.collection
            ):
                raise SourceChanged(
                    f"{state.collection}: the checkpoint is for {state.source}, not "
                    f"{self.source.identity(state.collection)}. Run with --restart to import "
                    "this source from the start (rows already imported are updated, not doubled)."
                )

    def _collection(self, spec: Spec) -> None:
        state, _ = CollectionState.objects.get_or_create(
            collection=spec.collection,
            defaults={"source": self.source.identity(spec.collection)},
        )
        if state.done and not self.source.resumes_by_id:
            return  # a dump does not change: its finished collections are finished
        context = spec.prepare(self.source) if spec.prepare else {}
        # The count only sizes the progress bar, and costs a second read of a folder's file (an
        # archive counted while unpacking): no bar (--quiet), no count.
        total = self.source.count(spec.collection) if self.progress is not None else 0
        position = state.position
        with (
            self._bar(spec.collection, total, position) as bar,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="convert") as converter,
        ):
            pending: tuple[list[dict[str, Any]], int, Future[Converted]] | None = None
            for batch in self._batches(spec, state):
                position += len(batch)
                if not spec.table:
                    keep_batch(spec, batch, position=position, keep=spec.keep_whole)
                    bar.update(len(batch))
                    continue
                # Two batches in flight: this one is converted in a worker thread (pure Python,
                # references already resolved here) while the previous one is written, which
                # waits on PostgreSQL with the GIL released, so both cores work. The writes and
                # their order stay on this thread's one connection and transaction per batch.
                future = converter.submit(
                    convert_batch, spec, batch, resolve(spec, batch), context
                )
                if pending:
                    self._write(spec, context, pending, bar)
                pending = (batch, position, future)
            if pending:
                self._write(spec, context, pending, bar)
        CollectionState.objects.filter(pk=spec.collection).update(done=True)

    def _write(
        self,
        spec: Spec,
        context: dict[str, Any],
        pending: tuple[list[dict[str, Any]], int, Future[Converted]],
        bar: tqdm,
    ) -> None:
        batch, position, future = pending
        import_batch(
            spec,
            batch,
            context=context,
            position=position,
            hook=self.hook,
            converted=future.result(),
        )
        bar.update(len(batch))

    def _batches(self, spec: Spec, state: CollectionState) -> Iterator[list[dict[str, Any]]]:
        documents = self.source.documents(
            spec.collection, position=state.position, after_id=state.last_id
        )
        batch: list[dict[str, Any]] = []
        for raw in documents:
            batch.append(raw)
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _bar(self, collection: str, total: int, initial: int) -> tqdm:
        return tqdm(
            total=max(total, initial),
            initial=initial,
            desc=f"{collection:<32}",
            unit=" docs",
            unit_scale=True,
            file=self.progress,
            disable=self.progress is None,
            mininterval=0.5,
            leave=True,
        )

    def _link_progress(self, name: str, count: int) -> None:
        if self.progress is not None:
            print(f"links {name:<26} {count:>10,} claims resolved", file=self.progress)


def collection_reports(present: set[str]) -> list[CollectionReport]:
    """Counts per collection from the checkpoints and the log (so a resumed run reports the
    whole import, not only its own part)."""
    warnings = dict(
        ImportIssue.objects.filter(kind=ImportIssue.Kind.WARNING)
        .values("collection")
        .annotate(n=Count("id"))
        .values_list("collection", "n")
    )
    states = {state.collection: state for state in CollectionState.objects.all()}
    reports = []
    for spec in SPECS:
        if spec.collection not in present:
            continue
        state = states.get(spec.collection)
        if state is None:
            continue
        reports.append(
            CollectionReport(
                collection=spec.collection,
                source=state.position,
                imported=state.imported,
                skipped=state.skipped,
                failed=state.failed,
                warnings=warnings.get(spec.collection, 0),
                note=spec.skip_reason,
            )
        )
    return reports


def write_error_log(path: Path) -> int:
    """The log as JSON lines (collection, ObjectId, field, kind, reason, value), rewritten
    from the database after each run so it is whole after a resume; returns the line count."""
    lines = 0
    with path.open("w", encoding="utf-8") as out:
        for issue in ImportIssue.objects.order_by("id").iterator(chunk_size=5000):
            record = {
                "collection": issue.collection,
                "object_id": issue.object_id,
                "field": issue.field,
                "kind": issue.kind,
                "reason": issue.reason,
                "value": issue.value,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            lines += 1
    return lines


__all__ = ["Alias", "BatchResult", "Importer", "Report", "SourceChanged", "write_error_log"]
