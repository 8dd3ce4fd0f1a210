"""Set-based building blocks of the scale dataset: vocabularies, INSERT ... SELECT over
generate_series, and dropping / rebuilding secondary indexes around a load.

Everything here writes SQL text from model metadata and fixed vocabularies, never from user
input, which is why the f-string queries below are safe (and marked so for ruff).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

TLDS = ["com", "io", "net", "co", "org", "de", "co.uk", "fr"]
FREEMAIL = ["gmail.com", "outlook.com", "yahoo.com", "proton.me", "gmx.de", "icloud.com"]
COMPANY_SUFFIXES = [" Ltd", " Inc", " GmbH", " Group", " LLC", " & Co", "", ""]
JOB_TITLES = [
    "Head of Sales",
    "CTO",
    "CEO",
    "Procurement Manager",
    "Office Manager",
    "Account Executive",
    "Marketing Director",
    "Operations Lead",
    "IT Administrator",
    "CFO",
    "Purchasing Agent",
    "Product Manager",
]
CITIES = [
    ("Berlin", "Germany"),
    ("Munich", "Germany"),
    ("London", "United Kingdom"),
    ("Manchester", "United Kingdom"),
    ("Paris", "France"),
    ("Lyon", "France"),
    ("New York", "United States"),
    ("Chicago", "United States"),
    ("Austin", "United States"),
    ("Toronto", "Canada"),
    ("Madrid", "Spain"),
    ("Amsterdam", "Netherlands"),
]
INDUSTRIES = [
    "Software",
    "Manufacturing",
    "Retail",
    "Healthcare",
    "Finance",
    "Logistics",
    "Education",
    "Construction",
    "Energy",
    "Hospitality",
]
LEAD_SOURCES = ["Web form", "Referral", "Event", "Cold call", "Partner", "LinkedIn"]
PRODUCTS = ["licences", "renewal", "support plan", "onboarding", "expansion", "pilot"]
NOTE_OPENERS = [
    "Called",
    "Met",
    "Emailed",
    "Demo for",
    "Follow-up with",
    "Lunch with",
    "Quarterly review with",
]
NOTE_TOPICS = [
    "pricing questions",
    "the renewal date",
    "a bigger order next quarter",
    "integration with their ERP",
    "budget approval",
    "the security review",
    "delivery delays",
    "a reference customer",
]
TASK_TITLES = [
    "Send proposal",
    "Call back",
    "Prepare demo",
    "Follow up on invoice",
    "Schedule meeting",
    "Update contract draft",
    "Check references",
    "Book onsite visit",
]

CONTRACT_TYPES = ["Subscription", "Service agreement", "Licence", "Support", "Framework agreement"]
DOCUMENT_TYPES = ["Proposal", "Signed contract", "Invoice copy", "Specification", "Presentation"]
DOCUMENT_TITLES = ["Meeting notes", "Requirements", "Price list", "Product sheet", "Project plan"]
BOARD_PROJECTS = [
    "Website relaunch",
    "Customer onboarding",
    "Trade fair",
    "CRM rollout",
    "Partner programme",
    "Pricing update",
    "Customer survey",
    "Office move",
]
# A board's columns and the status of the cards in each.
BOARD_SECTIONS = [
    ("To do", "open"),
    ("In progress", "in_progress"),
    ("Review", "in_progress"),
    ("Done", "done"),
]
BOARD_TASK_TITLES = [
    "Draft the brief",
    "Collect quotes",
    "Review copy",
    "Book the venue",
    "Update slides",
    "Test the import",
    "Send invitations",
    "Sign-off meeting",
    "Prepare budget",
    "Write announcement",
]


@dataclass(frozen=True)
class Vocabulary:
    """Names drawn once from Faker with a fixed seed: common names repeat as in real data."""

    first: list[str]
    last: list[str]
    words: list[str]

    @classmethod
    def build(cls, seed: int) -> Vocabulary:
        from faker import Faker

        fake = Faker()
        fake.seed_instance(seed)

        def clean(values: set[str], size: int) -> list[str]:
            # Letters only: the values go into SQL literals, emails and domains unescaped.
            kept = {v for v in values if re.fullmatch(r"[A-Za-z]{2,20}", v)}
            return sorted(kept)[:size]

        return cls(
            first=clean({fake.first_name() for _ in range(3000)}, 400),
            last=clean({fake.last_name() for _ in range(5000)}, 600),
            words=clean({fake.word() for _ in range(2000)}, 300),
        )


def array(values: list[str]) -> str:
    """A text array literal; parenthesised because only then can SQL subscript it."""
    quoted = ",".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"(ARRAY[{quoted}]::text[])"


def uuid_array(values: list[Any]) -> str:
    return "(ARRAY[" + ",".join(f"'{v}'" for v in values) + "]::uuid[])"


def pick(values: list[str]) -> str:
    """One value of the list at random, per row."""
    return f"{array(values)}[1 + floor(random() * {len(values)})::int]"


def row_id(tag: str, index: str) -> str:
    """The id of row number `index` of a seeded table: derived, so other tables can point at
    a random row by drawing a number, without a join or a lookup table."""
    return f"md5('{tag}:' || ({index}))::uuid"


def _filler(model: Any, given: dict[str, str]) -> tuple[list[str], list[str]]:
    """(columns, SQL expressions) for an INSERT ... SELECT of `model`: `given` for the columns
    the generator sets, the field's default (or NULL) for every other column."""
    columns, values = [], []
    for field in model._meta.concrete_fields:
        if isinstance(field, models.GeneratedField):
            continue
        columns.append(field.column)
        if field.column in given:
            values.append(given[field.column])
        elif field.null:
            values.append("NULL")
        elif isinstance(field, models.BooleanField):
            values.append("true" if field.default is True else "false")
        elif isinstance(field, models.JSONField):
            values.append("'[]'::jsonb" if field.default is list else "'{}'::jsonb")
        elif field.get_internal_type() == "ArrayField":
            values.append("'{}'")
        elif isinstance(field, models.DecimalField | models.IntegerField):
            values.append("0")
        elif isinstance(field, models.DateTimeField):
            values.append("now()")
        else:
            default = field.default if isinstance(field.default, str) else ""
            values.append(f"'{default}'")
    unknown = set(given) - set(columns)
    if unknown:  # a typo here would silently seed defaults instead
        raise ValueError(f"{model._meta.db_table} has no column(s) {sorted(unknown)}")
    return columns, values


def insert_series(
    model: Any, first: int, last: int, given: dict[str, str], derived: dict[str, str]
) -> int:
    """Insert one row of `model` per i in [first, last]. `derived` are per-row values computed
    once in an inner query (a random pick used by several columns, such as a first name that
    also goes into the email), referenced by name in `given`."""
    columns, values = _filler(model, given)
    inner = ", ".join(["i", *(f"{expr} AS {name}" for name, expr in derived.items())])
    with connection.cursor() as cursor:
        # OFFSET 0 keeps the inner query a separate step: each derived value is drawn once.
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(values)} FROM (SELECT {inner} "
            f"FROM generate_series({int(first)}, {int(last)}) AS i OFFSET 0) AS g"
        )
        return cursor.rowcount


def execute(sql: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def secondary_indexes(tables: list[str]) -> list[tuple[str, str]]:
    """(name, definition) of every index on `tables` but primary keys and unique ones: those
    enforce rules during the load, the others are only for reads and are cheaper built once."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary "
            "AND NOT i.indisunique ORDER BY 1",
            [tables],
        )
        return cursor.fetchall()


def drop_indexes(indexes: list[tuple[str, str]]) -> None:
    with connection.cursor() as cursor:
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")


def create_indexes(indexes: list[tuple[str, str]]) -> None:
    with connection.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)
