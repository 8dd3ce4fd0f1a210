"""Users and the reference data (industries, deal types, campaigns, document types, stages)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.hashers import make_password

from migrations_mongo import convert
from migrations_mongo.document import Doc, row_id
from migrations_mongo.sources import Source

from .common import required_text, times
from .spec import Spec

# Stages of NextCRM (one global list) go into a pipeline of their own, made by the import.
PIPELINE_ID = row_id("nextcrm:pipeline")
PIPELINE_NAME = "NextCRM"

_BCRYPT = re.compile(r"^\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}$")


def user(doc: Doc) -> dict[str, Any]:
    email = doc.get("email", convert.email)
    if not email:
        # Users.email was optional until 2023-08 (Q1): a placeholder on the reserved .invalid
        # domain keeps the account (and what it owns) without pretending to an address.
        email = f"nextcrm-{doc.oid}@users.invalid"
        doc.warn("email", f"missing or invalid; the account gets {email}")
    is_admin = doc.get("is_admin", convert.boolean)
    is_account_admin = doc.get("is_account_admin", convert.boolean)
    role = "admin" if is_admin else "manager" if is_account_admin else "sales"
    status = doc.get(
        "userStatus",
        convert.choice,
        {"active": "active", "pending": "pending", "inactive": "inactive"},
        default="pending",
    )
    date_joined, _ = times(doc, created=("created_on", "createdAt"), updated=())
    # The other side of the watcher links (Q4): the company or board is the link's owner.
    doc.link("watching_accountsIDs", "company_watchers", owner_side=False)
    doc.link("watching_boardsIDs", "board_watchers", owner_side=False)
    return {
        "id": doc.id,
        "legacy_id": doc.oid,
        "email": email,
        "name": doc.get(("name", "username", "account_name"), convert.text, 150, default=""),
        "password": _password(doc),
        "role": role,
        "is_staff": role == "admin",
        "is_superuser": role == "admin",
        # PENDING users were waiting for an admin's approval in NextCRM: they could not sign in.
        "is_active": status == "active",
        "date_joined": date_joined,
        "last_login": doc.get("lastLoginAt", convert.timestamp),
        "team_id": None,
    }


def _password(doc: Doc) -> str:
    """bcrypt hashes (Q11) stay usable through Django's BCryptPasswordHasher; OAuth-only users
    (no password) and anything that is not a bcrypt hash get an unusable password. A hash is
    never copied to the leftovers."""
    value = doc.take("password")
    if isinstance(value, str) and _BCRYPT.match(value):
        return f"bcrypt${value}"
    if value is not None:
        doc.warn("password", "not a bcrypt hash; the user must reset their password")
    return make_password(None)


def _lookup(doc: Doc) -> dict[str, Any]:
    return {
        "id": doc.id,
        "legacy_id": doc.oid,
        "name": required_text(doc, ("name",), 120, f"NextCRM {doc.oid[-6:]}"),
        "position": doc.get("order", convert.integer, default=0),
        "is_active": True,
    }


def campaign(doc: Doc) -> dict[str, Any]:
    return {
        **_lookup(doc),
        "description": doc.text("description"),
        "status": doc.text("status", max_length=40),
    }


def ensure_pipeline() -> None:
    """The pipeline NextCRM's stages go into; the default one if minicrm has none yet."""
    from crm.models import Pipeline

    if Pipeline.objects.filter(pk=PIPELINE_ID).exists():
        return
    taken = Pipeline.objects.filter(name=PIPELINE_NAME).exists()
    Pipeline.objects.create(
        id=PIPELINE_ID,
        name=f"{PIPELINE_NAME} (imported)" if taken else PIPELINE_NAME,
        is_default=not Pipeline.objects.filter(is_default=True).exists(),
    )


def _stage_positions(source: Source) -> dict[str, Any]:
    """Positions in NextCRM's order, as its board shows them: by probability, then by `order`
    where set (the seed sets it on two stages only; unset sorts last), then by ObjectId."""
    ensure_pipeline()
    docs = list(source.documents("crm_Opportunities_Sales_Stages"))

    def key(raw: dict[str, Any]) -> tuple:
        order = raw.get("order") if isinstance(raw.get("order"), int) else None
        probability = raw.get("probability") if isinstance(raw.get("probability"), int) else 0
        return (probability, order if order is not None else 1 << 30, str(raw["_id"]))

    from crm.models import Stage

    # Stages already in the pipeline keep their place (a repeated run, or stages an admin
    # added); new ones go after them, since positions are unique per pipeline.
    existing = dict(
        Stage.objects.filter(pipeline_id=PIPELINE_ID).values_list("legacy_id", "position")
    )
    next_free = max(existing.values(), default=-1) + 1
    positions = {}
    for raw in sorted(docs, key=key):
        oid = str(raw["_id"])
        if oid in existing:
            positions[oid] = existing[oid]
        else:
            positions[oid], next_free = next_free, next_free + 1
    return {"positions": positions}


def stage(doc: Doc) -> dict[str, Any]:
    name = required_text(doc, ("name",), 120, f"Stage {doc.oid[-6:]}")
    probability = doc.get("probability", convert.integer, maximum=100, default=0)
    doc.take("order")  # read by _stage_positions: the position below
    lowered = name.lower()
    return {
        "id": doc.id,
        "legacy_id": doc.oid,
        "pipeline_id": PIPELINE_ID,
        "name": name,
        "position": doc.context["positions"].get(doc.oid, 0),
        "probability": probability,
        # NextCRM has no won or lost flag: its last stage ("Realization of the project", 100%)
        # is where won deals end, and a stage called "... lost" holds lost ones.
        "is_won": "lost" not in lowered and (probability == 100 or "won" in lowered),
        "is_lost": "lost" in lowered,
    }


def _lookup_spec(collection: str, table: str) -> Spec:
    return Spec(collection, table, _lookup, adopt_on="name")


SPECS = [
    Spec(
        "Users",
        "accounts_user",
        user,
        insert_only=("password", "last_login"),
        adopt_on="email",
    ),
    _lookup_spec("crm_Industry_Type", "crm_industry"),
    # Dropped upstream in 2023-07; an old database may still hold it (section 1.2).
    _lookup_spec("SetupIndustry", "crm_industry"),
    _lookup_spec("crm_Opportunities_Type", "crm_dealtype"),
    Spec("crm_campaigns", "crm_campaign", campaign, adopt_on="name"),
    # The misspelled name the collection had until 2023-10 (section 1.2).
    Spec("crm_campains", "crm_campaign", campaign, adopt_on="name"),
    _lookup_spec("Documents_Types", "crm_documenttype"),
    Spec(
        "crm_Opportunities_Sales_Stages",
        "crm_stage",
        stage,
        prepare=_stage_positions,
        adopt_on="name",
        adopt_scope=f"pipeline_id = '{PIPELINE_ID}'",
    ),
]
