"""What the CSV export tests share: the entities, their expected headers, and reading an
exported file back (tests/crm/test_export.py, test_export_access.py)."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.urls import reverse

from audit.models import AuditEvent
from crm import exports
from crm import factories as f

KEYS = ("company", "contact", "lead", "deal", "contract", "task", "document")
FACTORIES = f.BY_ENTITY
HEADERS = {
    "company": ["ID", "Name", "Type", "Status", "Industry", "City", "Country", "Owner"],
    "contact": ["ID", "Name", "Company", "Email", "Phone", "Owner", "Updated", "Tags"],
    "lead": ["ID", "Name", "Company", "Status", "Source", "Owner", "Created", "Tags"],
    "deal": ["ID", "Name", "Company", "Stage", "Amount", "Currency", "Expected close"],
    "contract": ["ID", "Title", "Company", "Status", "Value", "Currency", "Ends", "Owner"],
    "task": ["ID", "Title", "Status", "Priority", "Due", "Assignee", "About", "Tags"],
    "document": ["ID", "Name", "Kind", "Type", "Size (bytes)", "Owner", "Updated", "Tags"],
}


def _export(client: Any, key: str = "contact", **params: Any) -> Any:
    return client.get(reverse(f"crm:{key}.export"), params)


def _rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(exports.BOM)
    return list(csv.reader(io.StringIO(body[1:])))


def _records(response: Any) -> list[dict[str, str]]:
    header, *rows = _rows(response)
    return [dict(zip(header, row, strict=True)) for row in rows]


def _export_entries(since: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=since, action="export").order_by("id"))
