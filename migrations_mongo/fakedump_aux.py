"""Document builders of the fake NextCRM dump: lookups (as upstream seeds them, from
prisma/initial-data) and the auxiliary collections the importer skips. All small and fixed:
their sizes are fakedump.FIXED_SIZES."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC
from typing import Any

from migrations_mongo.fakedump import Plan
from migrations_mongo.fakedump_docs import Doc, dt

Builder = Callable[[Plan], Iterator[Doc]]

STAGES = (  # upstream's seed order; `order` is 0 on the first two and null on the rest
    ("New", 10, 0),
    ("Need analysis", 25, 0),
    ("Signing", 95, None),
    ("Offer sent", 30, None),
    ("Offer accepted", 45, None),
    ("Contract draft", 65, None),
    ("Contract negotiation", 75, None),
    ("Send for signing", 80, None),
    ("Realization of the project", 100, None),
)
MODULES = (
    *("crm", "projects", "emails", "secondBrain", "employee"),
    *("invoice", "reports", "documents", "databox", "openai"),
)


Rows = list[dict[str, Any]]


def fixed(name: str, rows: Callable[[Plan], Rows], *, v: bool = True) -> tuple[str, Builder]:
    """(name, builder) for a collection of hand-written rows: `_id` (and `__v` unless the model
    has none) put in front as the app stores them; `_quirk` (one name or a tuple) goes to the
    manifest instead of the document."""

    def build(p: Plan) -> Iterator[Doc]:
        stamp = p.stamper(name)
        for i, fields in enumerate(rows(p)):
            oid, _ = stamp(i)
            quirks = fields.pop("_quirk", ())
            for quirk in (quirks,) if isinstance(quirks, str) else quirks:
                p.mark(f"{name}.{quirk}", oid)
            yield {"_id": oid, **({"__v": 0} if v else {}), **fields}

    return name, build


def _secret(p: Plan, prefix: str, k: int) -> str:
    # Marked fake in the prefix, so no secret scanner takes the fixture for a leaked key.
    return prefix + p.rng(f"secret:{prefix}:{k}").randbytes(16).hex()


def _names(*names: str) -> Callable[[Plan], Rows]:
    return lambda p: [{"name": name} for name in names]


def _stages(p: Plan) -> Rows:
    return [{"name": n, "probability": pr, "order": o} for n, pr, o in STAGES]


def _deal_types(p: Plan) -> Rows:
    orders = (("Business from partners", 2), ("Upsale", 3), ("New deal", 1), ("Cross sale", 4))
    return [{"name": n, "order": o} for n, o in orders]


def _campaigns(p: Plan) -> Rows:
    return [
        {
            "name": "Social networks",
            "description": "Instagram, Facebook, Twitter",
            "status": "ACTIVE",
        },
        {"name": "Cold calls", "description": "Our call center", "status": None},
    ]


def _document_types(p: Plan) -> Rows:
    rows: Rows = [{"name": n} for n in ("Contract", "Invoice", "Offer", "Receipt", "Contract")]
    rows[0]["_quirk"] = rows[4]["_quirk"] = "duplicate_name"  # the same name twice
    return rows


def _old_campaigns(p: Plan) -> Rows:  # §1.2: renamed to crm_campaigns on 2023-10-04
    return [
        {"name": "Newsletter 2023", "description": "Mailchimp", "status": "ACTIVE"},
        {"name": "Trade fair", "description": "Brno 2023", "status": "inactive"},
    ]


LOOKUPS: list[tuple[str, Builder]] = [
    fixed("crm_Industry_Type", _names("Public sector", "Other", "SW Development")),
    fixed("crm_Opportunities_Sales_Stages", _stages),
    fixed("crm_Opportunities_Type", _deal_types),
    fixed("crm_campaigns", _campaigns),
    fixed("Documents_Types", _document_types),
    fixed("invoice_States", _names("new", "paid", "overdue", "cancelled"), v=False),
    fixed(
        "crm_campains",
        lambda p: [{**row, "_quirk": "old_collection"} for row in _old_campaigns(p)],
    ),
]


def _modules(p: Plan) -> Rows:
    rows: Rows = []
    for k, name in enumerate(MODULES):
        row: dict[str, Any] = {
            "name": name,
            "enabled": name not in ("emails", "employee", "databox"),
            "position": k + 1,
        }
        if k < 3:  # Q2: menu fields dropped 2023-11
            row |= {
                "icon": "Home",
                "menuItem": True,
                "open": False,
                "route": f"/{name}",
                "_quirk": "legacy_fields",
            }
        rows.append(row)
    return rows


def _services(p: Plan) -> Rows:
    return [  # Q12: plaintext credentials
        {
            "name": "resend_smtp",
            "serviceUrl": "smtp.resend.com",
            "serviceId": "resend",
            "serviceKey": _secret(p, "re_fake_", 0),
            "servicePassword": _secret(p, "pw-fake-", 0),
            "servicePort": "465",
            "_quirk": "plaintext_secret",
        },
        {
            "name": "openAiKey",
            "serviceKey": _secret(p, "sk-fake-", 0),
            "_quirk": "plaintext_secret",
        },
        {
            "name": "rossum",
            "serviceUrl": "https://api.elis.rossum.ai/v1",
            "serviceId": "invoices@example.com",
            "servicePassword": _secret(p, "pw-fake-", 1),
            "description": "Invoice OCR",
            "_quirk": "plaintext_secret",
        },
    ]


def _keyed(p: Plan, field: str, prefix: str, extra: dict[str, Any]) -> Rows:
    """Q12 plaintext keys; the second belongs to a user that does not exist (Q5: a required
    reference dangling)."""
    return [
        {
            "user": p.ids("Users")(0),
            field: _secret(p, prefix, 0),
            **extra,
            "_quirk": ("plaintext_secret",),
        },
        {
            "user": p.dangling(),
            field: _secret(p, prefix, 1),
            **extra,
            "_quirk": ("plaintext_secret", "dangling_user"),
        },
    ]


def _openai(p: Plan) -> Rows:
    return _keyed(p, "api_key", "sk-fake-", {"organization_id": "org-nextcrm"})


def _notion(p: Plan) -> Rows:
    return _keyed(
        p, "notion_api_key", "secret_fake_", {"notion_db_id": "8f2c0e6b5d1a4c3e9b7a6d5c4b3a2f1e"}
    )


EMPLOYEES = (  # Q8: status is a free string
    ("Eva Nováková", "Active"),
    ("Jürgen Müller", "active"),
    ("Zoë Ångström", "ON_LEAVE"),
    ("山田 太郎", "inactive"),
    ("John Smith", "ACTIVE"),
)


def _employees(p: Plan) -> Rows:
    rows: Rows = []
    for k, (name, status) in enumerate(EMPLOYEES):
        row: dict[str, Any] = {
            "name": name,
            "avatar": f"https://avatars.example.com/{k}.png",
            "salary": 42000 + 1000 * k,
            "status": status,
        }
        if k != 3:  # email is optional
            row["email"] = f"employee{k}@nextcrm-customer.com"
        if status != "Active":
            row["_quirk"] = "status_free_string"
        rows.append(row)
    return rows


def _my_account(p: Plan) -> Rows:
    return [
        {
            "company_name": "NextCRM Customer s.r.o.",
            "is_person": False,
            "VAT_number": "CZ12345678",
            "email": "office@nextcrm-customer.com",
            "phone_prefix": "+420",
            "phone": "777 123 456",
            "website": "https://nextcrm-customer.com",
            "street": "Karlova 12",
            "city": "Praha",
            "zip": "110 00",
            "country": "Czech Republic",
            "country_code": "CZ",
            "currency": "CZK",
            "currency_symbol": "Kč",
            "bank_IBAN": "CZ6508000000192000145399",
        }
    ]


def _todo(p: Plan) -> Rows:
    # Legacy: createdAt and user are plain Strings here, not a Date and an ObjectId.
    return [
        {
            "createdAt": "2023-07-12T10:00:00.000Z",
            "description": "Import contacts from the old CRM",
            "title": "Migration",
            "url": "https://nextcrm-customer.com/todo/1",
            "user": str(p.ids("Users")(0)),
            "_quirk": "string_fields",
        }
    ]


def _gpt_models(p: Plan) -> Rows:
    created = dt(1672531200, UTC)
    return [
        {"model": m, "description": d, "status": s, "created_on": created}
        for m, d, s in (
            ("gpt-3.5-turbo", "GPT 3.5 Turbo", "ACTIVE"),
            ("gpt-4", "GPT 4", "INACTIVE"),
            ("gpt-4o", "GPT 4o", "INACTIVE"),
        )
    ]


AUXILIARY: list[tuple[str, Builder]] = [
    fixed("system_Modules_Enabled", _modules),
    fixed(
        "modulStatus",
        lambda p: [{"name": n, "isVisible": n != "reports"} for n in MODULES[:3]],
        v=False,
    ),
    fixed("systemServices", _services),
    fixed("gpt_models", _gpt_models),
    fixed("openAi_keys", _openai),
    fixed("secondBrain_notions", _notion),
    fixed("MyAccount", _my_account),
    fixed("Employees", _employees),
    fixed("TodoList", _todo, v=False),
    fixed("ImageUpload", lambda p: []),  # empty on purpose: upstream's placeholder model
]
