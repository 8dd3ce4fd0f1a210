"""Every NextCRM collection (schema doc, sections 1.2 and 5) and what the import does with it,
in the order they are imported: a collection comes after every collection it refers to, so
references resolve against rows already in PostgreSQL."""

from __future__ import annotations

from .deals import SPECS as DEAL_SPECS
from .parties import SPECS as PARTY_SPECS
from .people import SPECS as PEOPLE_SPECS
from .spec import KIND_TABLES, LINKS, Link, Spec
from .work import SPECS as WORK_SPECS

_SECRETS = "holds plaintext credentials (Q12); never imported"
# Collections of plaintext credentials: never imported, and never written to disk whole when an
# archive is unpacked (migrations_mongo.archive keeps their _ids only). A name, not a reason's
# wording, says which they are.
SECRET_COLLECTIONS = ("systemServices", "openAi_keys", "secondBrain_notions")

SPECS: list[Spec] = [
    *PEOPLE_SPECS,
    *PARTY_SPECS,
    *DEAL_SPECS[:2],
    *WORK_SPECS,
    *DEAL_SPECS[2:],
    # Kept verbatim in the leftovers: data a company may want, with no table in minicrm.
    Spec(
        "MyAccount",
        keep_whole=True,
        skip_reason="the company's own profile: no table in minicrm; kept in the leftovers",
    ),
    Spec(
        "Employees",
        keep_whole=True,
        skip_reason="the HR module: no table in minicrm; kept in the leftovers",
    ),
    Spec(
        "TodoList",
        keep_whole=True,
        skip_reason="legacy personal to-dos: no table in minicrm; kept in the leftovers",
    ),
    # Read by the Invoices mapping (an invoice's state name becomes its status).
    Spec("invoice_States", skip_reason="folded into each invoice's status"),
    # System and auxiliary collections (section 8).
    Spec("system_Modules_Enabled", skip_reason="NextCRM's menu switches; minicrm has no modules"),
    Spec("modulStatus", skip_reason="a dead model upstream (section 5.5)"),
    Spec("gpt_models", skip_reason="NextCRM's AI model list; minicrm has no AI features"),
    Spec("ImageUpload", skip_reason="an empty placeholder model upstream"),
    Spec("Translation", skip_reason="dropped upstream in 2023-09"),
    *(Spec(name, skip_reason=_SECRETS) for name in SECRET_COLLECTIONS),
]

BY_COLLECTION: dict[str, Spec] = {spec.collection: spec for spec in SPECS}

__all__ = ["BY_COLLECTION", "KIND_TABLES", "LINKS", "SECRET_COLLECTIONS", "SPECS", "Link", "Spec"]
