"""What global search shows of each type of record (crm.selectors.search): the columns a hit
is made of and how a row of them becomes a hit, and the hits' company names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Model

from crm import permissions
from crm.models import Company, Contact, Deal, Lead
from crm.record_urls import record_url


@dataclass(frozen=True)
class SearchHit:
    title: str
    subtitle: str
    url: str


@dataclass
class SearchGroup:
    key: str
    label: str
    hits: list[SearchHit] = field(default_factory=list)


@dataclass
class SearchResults:
    query: str
    groups: list[SearchGroup] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(group.hits) for group in self.groups)

    @property
    def non_empty_groups(self) -> list[SearchGroup]:
        return [group for group in self.groups if group.hits]


@dataclass(frozen=True)
class _Type:
    key: str
    label: str
    model: type[Model]
    # alias -> expression, the values a hit is made of
    columns: dict[str, Any]
    hit: Any  # row dict -> SearchHit
    # Fields with a name_starts_index, read in name order for a one-word query before the
    # full-text index's prefix matches (search_branches.whole_words_first).
    names: tuple[str, ...] = ()


def _url(model: type[Model], pk: Any) -> str:
    # crm.record_urls: one reverse() per URL name, not per hit (a page holds up to 100 hits).
    return record_url(f"crm:{model._meta.model_name}.detail", pk)


def _name(row: dict[str, Any]) -> str:
    return " ".join(part for part in (row["h_first"], row["h_last"]) if part)


def _name_companies(user: Any, rows: list[dict[str, Any]]) -> None:
    """Set each hit's `h_company` to its company's name, None where `user` may not see that
    company: one query for the few hits shown, after ranking. As a column of the ranked
    candidates it was a lookup and a visibility probe for each of up to CANDIDATES rows (5 ms of
    the contacts search for "joh" at 1M contacts, for five names shown)."""
    ids = {row["h_company_id"] for row in rows if row.get("h_company_id")}
    names = permissions.visible_names(user, Company, ids)
    for row in rows:
        if "h_company_id" in row:
            row["h_company"] = names.get(row["h_company_id"])


def _join(*parts: Any) -> str:
    return " · ".join(str(part) for part in parts if part)


_TYPES = [
    _Type(
        "companies",
        "Companies",
        Company,
        {
            "h_name": F("name"),
            "h_domain": F("domain"),
            "h_email": F("email"),
            "h_phone": F("phone"),
        },
        lambda r: SearchHit(
            r["h_name"], _join(r["h_domain"], r["h_email"], r["h_phone"]), _url(Company, r["h_id"])
        ),
    ),
    _Type(
        "contacts",
        "Contacts",
        Contact,
        {
            "h_first": F("first_name"),
            "h_last": F("last_name"),
            "h_email": F("email"),
            "h_phone": F("phone"),
            "h_company_id": F("company_id"),  # named by _name_companies
        },
        lambda r: SearchHit(
            _name(r) or r["h_email"],
            _join(r["h_email"], r["h_company"], r["h_phone"]),
            _url(Contact, r["h_id"]),
        ),
        names=("first_name", "last_name"),
    ),
    _Type(
        "leads",
        "Leads",
        Lead,
        {
            "h_first": F("first_name"),
            "h_last": F("last_name"),
            "h_email": F("email"),
            "h_company": F("company_name"),
            "h_status": F("status"),
        },
        lambda r: SearchHit(
            _name(r) or r["h_email"],
            _join(r["h_company"], r["h_email"], Lead.Status(r["h_status"]).label),
            _url(Lead, r["h_id"]),
        ),
        names=("first_name", "last_name"),
    ),
    _Type(
        "deals",
        "Deals",
        Deal,
        {"h_name": F("name"), "h_company_id": F("company_id"), "h_stage": F("stage__name")},
        lambda r: SearchHit(
            r["h_name"], _join(r["h_company"], r["h_stage"]), _url(Deal, r["h_id"])
        ),
    ),
]
_BY_MODEL = {kind.model: kind for kind in _TYPES}
