"""CSV imports: upload, configure (mapping and mode), dry run, import, undo.

`import_upload` stores the file and reads its header; `import_configure` takes the user's
mapping and options and starts the dry run; `import_commit` starts the import proper once the
dry run is done; `import_advance` runs chunks for a short time budget (a web poll) or to the
end (the command); `import_undo` starts undoing. The engine (crm/imports/) does the row work.

All-or-nothing across many chunks: the dry run must find no bad row before the import may
start, and if a row still fails while writing (a record changed in between), the rows written
so far are undone at once, the same way a user's undo does, and the run is marked failed.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from accounts.models import User
from crm.imports.engine import Importer, start_pass
from crm.imports.fields import IMPORTABLE, import_fields, normalise_header, suggest
from crm.imports.reader import DELIMITERS, ENCODINGS, CsvError, Dialect, read_header, sniff
from crm.imports.undo import undo_step
from crm.models import ImportMapping, ImportRun

# A web poll works this long, then answers with the progress (the bar moves every poll).
STEP_SECONDS = 1.5


def match_choices(entity: str) -> list[tuple[str, str]]:
    """What rows can be matched to stored records on, for `entity`."""
    fields = import_fields(entity)
    natural = {"company": ["domain", "name"], "contact": ["email"], "lead": ["email"]}
    names = [*natural.get(entity, []), "id", "legacy_id"]
    custom = [
        name
        for name, spec in fields.items()
        if spec.custom_key and not spec.name.startswith("cf:_")
    ]
    return [(name, fields[name].label) for name in [*names, *custom] if name in fields]


def import_upload(
    *,
    user: User,
    entity: str,
    upload: UploadedFile,
    encoding: str = "",
    delimiter: str = "",
    size_limit: bool = True,
) -> ImportRun:
    """Store an uploaded CSV as a new import of `entity` records, with mapping suggestions.
    Raises ValidationError (on `file`) for a file that is too big or not CSV. The size limit
    is the web upload's (CSV_IMPORT_MAX_BYTES); the import_csv command has none."""
    if entity not in IMPORTABLE:
        raise ValidationError({"entity": "Choose companies, contacts, leads or deals."})
    if size_limit and upload.size > settings.CSV_IMPORT_MAX_BYTES:
        limit = settings.CSV_IMPORT_MAX_BYTES // (1024 * 1024)
        raise ValidationError({"file": f"The file is larger than the {limit} MB limit."})
    try:
        dialect = sniff(upload.file)
        dialect = Dialect(encoding or dialect.encoding, delimiter or dialect.delimiter)
        headers, data_start = read_header(upload.file, dialect)
    except CsvError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    remembered = ImportMapping.objects.filter(user=user, entity=entity).first()
    mapping = suggest(headers, import_fields(entity), remembered.choices if remembered else {})
    upload.file.seek(0)
    run = ImportRun(
        entity=entity,
        created_by=user,
        file_name=upload.name[:255],
        file_size=upload.size,
        encoding=dialect.encoding,
        delimiter=dialect.delimiter,
        headers=headers,
        mapping=mapping,
        data_start=data_start,
        match_on=match_choices(entity)[0][0],
    )
    run.file.save(upload.name, upload, save=False)
    run.save()
    return run


def import_configure(*, user: User, run: ImportRun, options: dict[str, Any]) -> ImportRun:
    """Apply the mapping and options, remember the mapping, start the dry run.

    `options`: mapping (a field name or "" per header), mode, match_on, on_error,
    create_related, and optionally encoding and delimiter (re-read the header with them)."""
    _check_author(user, run)
    if run.status not in (ImportRun.Status.UPLOADED, ImportRun.Status.CHECKED):
        raise ValidationError("This import has started; start a new one to change it.")
    encoding = options.get("encoding") or run.encoding
    delimiter = options.get("delimiter") or run.delimiter
    if encoding not in ENCODINGS or delimiter not in DELIMITERS:
        raise ValidationError("Choose an encoding and a delimiter from the lists.")
    if (encoding, delimiter) != (run.encoding, run.delimiter):
        try:
            with run.file.open("rb") as file:
                headers, run.data_start = read_header(file, Dialect(encoding, delimiter))
        except CsvError as exc:
            raise ValidationError(str(exc)) from exc
        if headers != run.headers:
            run.headers, run.encoding, run.delimiter = headers, encoding, delimiter
            run.mapping = suggest(headers, import_fields(run.entity), {})
            run.save()
            raise ValidationError("The columns changed with the new settings: map them again.")
        run.encoding, run.delimiter = encoding, delimiter
    mapping = list(options.get("mapping") or [])
    _check_options(run, mapping, options)
    run.mapping = mapping
    run.mode = options["mode"]
    run.match_on = options.get("match_on") or ""
    run.on_error = options["on_error"]
    run.create_related = bool(options.get("create_related"))
    with transaction.atomic():
        run.save()
        ImportMapping.objects.update_or_create(
            user=user,
            entity=run.entity,
            defaults={
                "choices": {
                    normalise_header(h): name for h, name in zip(run.headers, mapping, strict=True)
                }
            },
        )
        start_pass(run, dry_run=True)
    return run


def _check_options(run: ImportRun, mapping: list[str], options: dict[str, Any]) -> None:
    fields = import_fields(run.entity)
    errors: dict[str, list[str]] = {}
    if len(mapping) != len(run.headers) or any(m and m not in fields for m in mapping):
        errors.setdefault("mapping", []).append("Map each column to a field, or ignore it.")
    chosen = [m for m in mapping if m]
    for name in {m for m in chosen if chosen.count(m) > 1}:
        errors.setdefault("mapping", []).append(f"{fields[name].label} is mapped twice.")
    mode = options.get("mode")
    if mode not in ImportRun.Mode.values:
        errors["mode"] = ["Choose what the import does."]
    if options.get("on_error") not in ImportRun.OnError.values:
        errors["on_error"] = ["Choose what happens to rows with errors."]
    match_on = options.get("match_on") or ""
    if match_on and match_on not in dict(match_choices(run.entity)):
        errors["match_on"] = ["Choose a field to match records on."]
    elif match_on and match_on not in chosen:
        errors["match_on"] = [f"Map a column to {fields[match_on].label} to match on it."]
    elif not match_on and mode in ("update", "upsert"):
        errors["match_on"] = ["Updating needs a field to match records on."]
    if mode in ("create", "upsert"):
        missing = [
            spec.label
            for spec in fields.values()
            if spec.required and not spec.relation and spec.name not in chosen
        ]
        if missing:
            errors.setdefault("mapping", []).append(
                f"New records need {', '.join(missing)}: map a column to each."
            )
    if errors:
        raise ValidationError(errors)


def import_commit(*, user: User, run: ImportRun) -> ImportRun:
    """Start the import proper after a dry run."""
    _check_author(user, run)
    if run.status != ImportRun.Status.CHECKED:
        raise ValidationError("Run the check first.")
    if run.on_error == ImportRun.OnError.ALL_OR_NOTHING and run.failed:
        raise ValidationError(
            f"{run.failed} rows have errors and you chose all or nothing: "
            "correct the file, or choose to skip bad rows."
        )
    start_pass(run, dry_run=False)
    return run


def import_advance(
    *, user: User, run: ImportRun, seconds: float | None = STEP_SECONDS
) -> ImportRun:
    """Run chunks of the pass in progress for `seconds` (None: to the end); returns the run."""
    deadline = None if seconds is None else time.monotonic() + seconds
    if run.status == ImportRun.Status.UNDOING:
        _check_undoer(user, run)
        while not undo_step(run, user):
            if deadline is not None and time.monotonic() > deadline:
                break
        run.refresh_from_db()
        return run
    _check_author(user, run)
    importer = Importer(run, user)
    while True:
        finished = importer.step()
        run = importer.run
        if not run.dry_run and run.on_error == ImportRun.OnError.ALL_OR_NOTHING and run.failed:
            return _abandon(run)
        if finished or (deadline is not None and time.monotonic() > deadline):
            return run


def _abandon(run: ImportRun) -> ImportRun:
    """All or nothing, and a row failed while writing: undo what was written."""
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run.pk)
        row = run.rows.filter(action="error").order_by("number").first()
        reason = "; ".join(e["reason"] for e in row.errors) if row else "a row failed"
        run.message = (
            f"Row {row.number if row else '?'} failed while importing ({reason}); "
            "the rows imported before it are being undone."
        )
        run.status = ImportRun.Status.UNDOING
        run.save()
    return run


def import_undo(*, user: User, run: ImportRun) -> ImportRun:
    """Start undoing a finished import, or one that failed part way (its author or an
    admin)."""
    _check_undoer(user, run)
    if run.status not in (ImportRun.Status.DONE, ImportRun.Status.FAILED):
        raise ValidationError("Only a finished import can be undone.")
    run.status = ImportRun.Status.UNDOING
    run.save(update_fields=["status"])
    return run


def _check_author(user: User, run: ImportRun) -> None:
    if run.created_by_id != user.pk:
        raise PermissionDenied("Only the person who started this import may run it.")


def _check_undoer(user: User, run: ImportRun) -> None:
    if run.created_by_id != user.pk and not user.is_admin:
        raise PermissionDenied("Only the person who ran this import, or an admin, may undo it.")
