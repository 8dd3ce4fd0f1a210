"""What the import wizard's page tests share: a file, the URLs, and driving a run through
the pages as the browser would."""

from __future__ import annotations

import codecs
import csv
import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from crm.models import ImportRun

CONTACTS = (
    "First name,Last name,E-mail,Phone,Notes to self\n"
    "Ada,Lovelace,ada@example.com,+44 20 1234,first\n"
    "Alan,Turing,not-an-email,,second\n"
    "Grace,Hopper,grace@example.com,,third\n"
)
# Session and user, then the list: the boundary run of a `before` cursor and the page.
LIST_QUERIES = 4
# Session and user, the run, custom field definitions (the mapping form's fields and the
# match choices read them), one page of rows with errors.
DETAIL_QUERIES = 6


def _url(name: str, run: ImportRun | None = None) -> str:
    return reverse(f"crm:import.{name}", args=[run.pk] if run else [])


def _post_upload(client: Client, data: str | bytes, entity: str = "contact", **extra: Any):
    raw = data.encode() if isinstance(data, str) else data
    file = SimpleUploadedFile(extra.pop("name", "people.csv"), raw, "text/csv")
    return client.post(_url("new"), {"entity": entity, "file": file, **extra})


def _mapping(run: ImportRun, **options: Any) -> dict[str, Any]:
    """The mapping form as the page fills it in (the suggested mapping), with `options`."""
    data = {f"column_{i}": name for i, name in enumerate(run.mapping)}
    data.update(
        mode="upsert",
        match_on=run.match_on,
        on_error="skip",
        encoding=run.encoding,
        delimiter=run.delimiter,
    )
    data.update(options)
    return data


def _advance(client: Client, run: ImportRun):
    return client.post(_url("advance", run), headers={"HX-Request": "true"})


def _drive(client: Client, run: ImportRun) -> ImportRun:
    """Poll `advance` as the progress fragment does, until it asks the page to reload."""
    for _ in range(50):
        response = _advance(client, run)
        assert response.status_code == 200
        if response.headers.get("HX-Refresh") == "true":
            run.refresh_from_db()
            return run
        assert b"<progress" in response.content
    raise AssertionError("the pass never finished")


def _checked(client: Client, data: str = CONTACTS, **options: Any) -> ImportRun:
    response = _post_upload(client, data)
    assert response.status_code == 302, response.content
    run = ImportRun.objects.get()
    assert client.post(_url("detail", run), _mapping(run, **options)).status_code == 302
    return _drive(client, run)


def _rejected(client: Client, run: ImportRun) -> list[list[str]]:
    response = client.get(_url("rejected", run))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# --- the whole way through ----------------------------------------------------------------
