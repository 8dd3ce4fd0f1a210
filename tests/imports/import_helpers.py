"""Running a CSV import the way the wizard does: upload, configure, dry run, import."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from crm.models import ImportRun
from crm.services.imports import import_advance, import_commit, import_configure, import_upload


def upload(user: Any, entity: str, data: bytes | str, name: str = "people.csv", **kw: Any):
    raw = data.encode() if isinstance(data, str) else data
    return import_upload(
        user=user, entity=entity, upload=SimpleUploadedFile(name, raw, "text/csv"), **kw
    )


def check(user: Any, run: ImportRun, **options: Any) -> ImportRun:
    """Configure with the suggested mapping unless given, and run the whole dry run."""
    settings = {"mapping": run.mapping, "mode": "upsert", "on_error": "skip", **options}
    settings.setdefault("match_on", run.match_on)
    run = import_configure(user=user, run=run, options=settings)
    return import_advance(user=user, run=run, seconds=None)


def run_import(user: Any, entity: str, data: bytes | str, **options: Any) -> ImportRun:
    """Upload, check and import `data`; the finished run."""
    run = check(user, upload(user, entity, data), **options)
    assert run.status == ImportRun.Status.CHECKED, run.message
    run = import_commit(user=user, run=run)
    return import_advance(user=user, run=run, seconds=None)


def errors_by_row(run: ImportRun) -> dict[int, list[dict[str, str]]]:
    return {row.number: row.errors for row in run.rows.filter(action__in=["error", "skip"])}
