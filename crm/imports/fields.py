"""What a CSV column can be imported into, per entity, and how a cell becomes a value.

The importable fields are the entity's edit form fields (crm/forms/records_*.py fieldsets), so
import and form never disagree on what a user may set, plus `id` and `legacy_id` (to match
rows exported from minicrm or another CRM) and each custom field. A cell is parsed by the model
field itself (`Field.clean`: type, length, choices and validators, with Django's messages),
after a little leniency spreadsheets need: choice labels as well as values, "yes"/"no", decimal
commas, tags separated by commas or semicolons. Links to other records (company, owner, stage,
...) are parsed to a lookup key here and resolved in bulk per chunk (resolve.py).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from crm.custom_fields import _clean_value, definitions_for
from crm.entities import ENTITIES
from crm.forms.records import fields_of
from crm.forms.records_deals import DEAL_FIELDSETS
from crm.forms.records_parties import COMPANY_FIELDSETS, CONTACT_FIELDSETS, LEAD_FIELDSETS
from crm.models import CustomFieldDefinition

FIELDSETS = {
    "company": COMPANY_FIELDSETS,
    "contact": CONTACT_FIELDSETS,
    "lead": LEAD_FIELDSETS,
    "deal": DEAL_FIELDSETS,
}
IMPORTABLE = tuple(FIELDSETS)

# Links resolved by a readable value: what the cell holds -> how resolve.py finds the row.
RELATIONS = {
    "company": "company",  # a company by name or domain
    "parent": "company",
    "primary_contact": "contact",  # a contact by email
    "owner": "user",  # a user by email
    "industry": "lookup",  # lookups by name
    "campaign": "lookup",
    "type": "lookup",  # a deal's type (Company.type / Contact.type are choices, not links)
    "pipeline": "pipeline",
    "stage": "stage",  # by name, in the row's pipeline
}

# Header spellings seen in exports of other CRMs and spreadsheets, beyond name and label.
ALIASES = {
    "first_name": ["firstname", "first", "given name", "forename", "vorname", "prenom"],
    "last_name": ["lastname", "last", "surname", "family name", "nachname", "nom"],
    "email": ["e-mail", "email address", "mail", "work email"],
    "phone": ["telephone", "tel", "phone number", "office phone", "work phone", "business phone"],
    "mobile_phone": ["mobile", "cell", "cell phone", "mobile number"],
    "company": ["company name", "account", "account name", "organisation", "organization"],
    "company_name": ["company", "account name", "organisation", "organization"],
    "position": ["title", "job title", "role"],
    "job_title": ["title", "position", "role"],
    "website": ["web", "url", "homepage", "site"],
    "owner": ["owner email", "assigned to", "sales rep", "account owner"],
    "postal_code": ["zip", "zip code", "postcode", "post code"],
    "billing_postal_code": ["zip", "zip code", "postcode"],
    "annual_revenue": ["revenue"],
    "employee_count": ["employees", "headcount", "number of employees"],
    "amount": ["value", "deal value", "deal amount"],
    "expected_close_date": ["close date", "closing date", "expected close"],
    "stage": ["deal stage", "pipeline stage"],
    "name": ["company name", "deal name", "account name"],
    "tags": ["labels", "tag"],
    "description": ["notes", "note", "comments", "about"],
    "id": ["minicrm id", "uuid", "record id"],
    "legacy_id": ["external id", "legacy id", "source id", "original id"],
}

TRUE = {"true", "yes", "y", "1", "x", "on", "ja", "oui", "si", "wahr"}
FALSE = {"false", "no", "n", "0", "off", "nein", "non", ""}


def normalise_header(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


@dataclass(frozen=True)
class ImportField:
    name: str  # model field name, or "cf:<key>" for a custom field
    label: str
    required: bool
    parse: Callable[[str], Any] = field(compare=False, repr=False)
    relation: str = ""  # RELATIONS kind, resolved per chunk
    names: tuple[str, ...] = ()  # normalised spellings a header may use

    @property
    def custom_key(self) -> str:
        return self.name[3:] if self.name.startswith("cf:") else ""


def _choice_parser(model_field: models.Field) -> Callable[[str], Any]:
    by_text = {}
    for value, label in model_field.choices:
        by_text[str(value).lower()] = value
        by_text[str(label).lower()] = value

    def parse(text: str) -> Any:
        if text == "":
            return model_field.get_default()
        try:
            return by_text[text.lower()]
        except KeyError:
            allowed = ", ".join(str(label) for _, label in model_field.choices)
            raise ValueError(f"must be one of: {allowed}") from None

    return parse


def _decimal(text: str) -> Decimal | None:
    if text == "":
        return None
    cleaned = re.sub(r"[\s'€$£¥]", "", text)
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")  # a decimal comma: 1234,50
    else:
        cleaned = cleaned.replace(",", "")  # thousands separators: 1,234.50
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("must be a number") from None


DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d")


def _date(text: str) -> dt.date | None:
    """ISO dates, and the unambiguous day.month.year; 03/04/2025 is refused, since it means
    different days in the US and in Europe."""
    if text == "":
        return None
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text[:10] if fmt == "%Y-%m-%d" else text, fmt).date()
        except ValueError:
            continue
    raise ValueError("must be a date as YYYY-MM-DD (or DD.MM.YYYY)")


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError("must be yes or no")


def _tags(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[;,]", text)]
    return list(dict.fromkeys(p for p in parts if p))


def _uuid(text: str) -> uuid.UUID | None:
    if text == "":
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValueError("must be a minicrm id (a UUID)") from None


def _checked_by(model_field: models.Field, pre: Callable[[str], Any]) -> Callable[[str], Any]:
    """Parse with `pre`, then let the model field validate (length, email, URL, range)."""

    def parse(text: str) -> Any:
        value = pre(text)
        if value in (None, "", []):
            # Empty: on update the field is left as it is, on create a required field is
            # reported once as "is required" (rows.py), not as Django's "cannot be blank".
            return None if model_field.null else value
        try:
            return model_field.clean(value, None)
        except ValidationError as exc:
            raise ValueError(" ".join(exc.messages).rstrip(".")) from None

    return parse


def _text(text: str) -> str:
    return text


def _int(text: str) -> int | None:
    if text == "":
        return None
    try:
        return int(text.replace(",", "").replace(" ", ""))
    except ValueError:
        raise ValueError("must be a whole number") from None


def _at_least_zero(model: type[models.Model], name: str) -> bool:
    """Whether a check constraint keeps `name` non-negative (crm.models.base.non_negative):
    checked while parsing, so the dry run reports it on its column instead of the database
    refusing the row later."""
    for constraint in model._meta.constraints:
        condition = getattr(constraint, "condition", None)
        if isinstance(condition, models.Q) and (f"{name}__gte", 0) in condition.children:
            return True
    return False


def _non_negative(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def checked(text: str) -> Any:
        value = parse(text)
        if value is not None and value != "" and value < 0:
            raise ValueError("must be 0 or more")
        return value

    return checked


def _parser(model_field: models.Field) -> Callable[[str], Any]:
    if model_field.choices:
        return _checked_by(model_field, _choice_parser(model_field))
    if isinstance(model_field, models.BooleanField):
        return _boolean
    if isinstance(model_field, models.DecimalField):
        return _checked_by(model_field, _decimal)
    if isinstance(model_field, models.IntegerField):
        return _checked_by(model_field, _int)
    if isinstance(model_field, models.DateField):
        return _checked_by(model_field, _date)
    if getattr(model_field, "base_field", None) is not None:  # tags
        return _checked_by(model_field, _tags)
    return _checked_by(model_field, _text)


def _currency(text: str) -> str:
    code = text.strip().upper()
    if code and not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError("must be a three-letter currency code, such as USD or EUR")
    return code


def _lookup_key(text: str) -> str:
    return text.strip()


def _names(name: str, label: str) -> tuple[str, ...]:
    spellings = [name, name.replace("_", " "), label, *ALIASES.get(name, [])]
    return tuple(dict.fromkeys(normalise_header(s) for s in spellings))


def _custom_parser(definition: CustomFieldDefinition) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if text == "":
            return None
        value: Any = text
        if definition.field_type == CustomFieldDefinition.FieldType.MULTI_CHOICE:
            value = _tags(text)
        elif definition.field_type == CustomFieldDefinition.FieldType.BOOLEAN:
            value = _boolean(text)
        elif definition.field_type == CustomFieldDefinition.FieldType.DATE:
            value = _date(text)
        elif definition.field_type == CustomFieldDefinition.FieldType.CHOICE:
            # Choices by their text in any letter case, stored as defined.
            value = next((c for c in definition.choices if c.lower() == text.lower()), text)
        return _clean_value(definition, value)

    return parse


def import_fields(entity: str) -> dict[str, ImportField]:
    """The fields a column of an `entity` CSV can go to, in form order, by name."""
    model = ENTITIES[entity].model
    result: dict[str, ImportField] = {}
    for name in fields_of(FIELDSETS[entity]):
        model_field = model._meta.get_field(name)
        label = str(model_field.verbose_name).capitalize()
        relation = RELATIONS.get(name, "") if model_field.is_relation else ""
        parse = _lookup_key if relation else _parser(model_field)
        if name == "currency":
            parse = _currency
        elif _at_least_zero(model, name):
            parse = _non_negative(parse)
        # Required on create: no default to fall back on (pipeline and stage default to the
        # default pipeline's first stage, see rows.py).
        required = not (model_field.blank or model_field.has_default())
        required = required and name not in ("pipeline", "stage")
        result[name] = ImportField(name, label, required, parse, relation, _names(name, label))
    result["id"] = ImportField("id", "minicrm ID", False, _uuid, names=_names("id", "ID"))
    legacy = model._meta.get_field("legacy_id")
    result["legacy_id"] = ImportField(
        "legacy_id", "Legacy ID", False, _checked_by(legacy, _text),
        names=_names("legacy_id", "Legacy ID"),
    )  # fmt: skip
    for definition in definitions_for(entity).values():
        name = f"cf:{definition.key}"
        result[name] = ImportField(
            name,
            definition.label,
            definition.required,
            _custom_parser(definition),
            names=_names(definition.key, definition.label),
        )
    return result


def suggest(
    headers: list[str], fields: dict[str, ImportField], remembered: dict[str, str]
) -> list[str]:
    """A field name (or "") per header: what this user mapped that header to last time, else
    the field whose name, label or known alias the header spells, each field used once."""
    taken: set[str] = set()
    result: list[str] = []
    for header in headers:
        key = normalise_header(header)
        choice = remembered.get(key, "")
        if choice not in fields or choice in taken:
            choice = next(
                (f.name for f in fields.values() if key in f.names and f.name not in taken), ""
            )
        if choice:
            taken.add(choice)
        result.append(choice)
    return result
