"""Pieces every record mapping shares: keys, owner, timestamps, visibility."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from migrations_mongo import convert
from migrations_mongo.document import Doc


def times(
    doc: Doc, created: tuple[str, ...] = ("createdAt",), updated: tuple[str, ...] = ("updatedAt",)
) -> tuple[dt.datetime, dt.datetime]:
    """Creation and last change. A missing creation date (old documents, Q1) is the ObjectId's
    own timestamp (Q14); a missing change date is the creation date."""
    created_at = doc.get(created, convert.timestamp) or convert.creation_time(doc.raw["_id"])
    updated_at = doc.get(updated, convert.timestamp) or created_at
    return created_at, max(created_at, updated_at)


def record(
    doc: Doc,
    *,
    owner: tuple[str, ...] = ("assigned_to",),
    created: tuple[str, ...] = ("createdAt",),
    updated: tuple[str, ...] = ("updatedAt",),
    customizable: bool = True,
    owner_fallback: tuple[str, uuid.UUID | None] = ("", None),
) -> dict[str, Any]:
    """The OwnedRecord columns. NextCRM showed every record to every user; minicrm shares a
    record with its owner's team, the nearest equivalent (docs/migrating-from-mongodb.md).
    `owner_fallback` is (field, row id) of a user reference the mapping read already, the
    owner when none of `owner` resolves."""
    created_at, updated_at = times(doc, created, updated)
    row: dict[str, Any] = {
        "id": doc.id,
        "legacy_id": doc.oid,
        "owner_id": doc.ref(owner, "user", fallback=owner_fallback),
        "created_at": created_at,
        "updated_at": updated_at,
    }
    if customizable:
        row["custom_fields"] = {}
        row["shared_with_team"] = True
    return row


def required_text(doc: Doc, names: tuple[str, ...], max_length: int, placeholder: str) -> str:
    """A column minicrm requires: a missing value gets a placeholder, logged (Q1, Q5)."""
    value = doc.get(names, convert.text, max_length)
    if value:
        return value
    doc.warn(names[0], f"missing; set to {placeholder!r}")
    return placeholder


def choice(
    doc: Doc,
    names: str | tuple[str, ...],
    mapping: dict[str, str],
    default: str,
    unknown: str | None = None,
) -> str:
    """A normalised free-string enum (Q8): `default` when blank; an unknown value gets
    `unknown` (or the default) and is kept in the leftovers."""
    names = (names,) if isinstance(names, str) else names
    raw = doc.take(*names)
    try:
        return convert.choice(raw, mapping) or default
    except convert.Unconvertible as error:
        doc.lossy(names[0], raw, str(error))
        return unknown or default


def tags(doc: Doc, *names: str) -> list[str]:
    return doc.get(names, convert.string_list, max_length=60, default=[])


def campaigns_by_name(_source: object) -> dict[str, Any]:
    """Context for mappings that name campaigns (`campaign_named`): each campaign's id by name,
    read once per run, after the campaigns are imported."""
    from crm.models import Campaign

    return {"campaigns": dict(Campaign.objects.values_list("name", "id"))}


def campaign_named(doc: Doc, name: str = "campaign") -> uuid.UUID | None:
    """A campaign given by its name (leads; opportunities before 2023-07-22, Q1); a name no
    campaign has is logged and kept in the leftovers."""
    value = doc.take(name)
    found = doc.context["campaigns"].get(value.strip()) if isinstance(value, str) else None
    if value is not None and found is None:
        doc.lossy(name, value, "no campaign of that name")
    return found
