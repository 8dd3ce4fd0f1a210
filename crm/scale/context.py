"""What the column expressions of the scale dataset share: counts, ids the ORM made first, and
the functions of a row number that let rows point at each other without a join.

A company's name, domain and owner are functions of its row number (sql.row_id gives its id),
so a contact can get an email at its company's domain and its company's owner by drawing the
row number alone. Row 0 of the companies, outside generate_series(1, N), is the one big
company (BigCompany): the first rows of the tables that point at companies point at it.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass, field

from . import sql

# The big company is company row 0: its id is sql.row_id("company", "0") computed in Python,
# so a benchmark finds it in an already seeded database without a search.
BIG_COMPANY_ROW = 0
BIG_COMPANY_ID = uuid.UUID(
    hashlib.md5(f"company:{BIG_COMPANY_ROW}".encode(), usedforsecurity=False).hexdigest()
)


@dataclass(frozen=True)
class BigCompany:
    """How many rows of each table belong to the big company (all 0: there is none). They
    are the first rows of each table: contacts 1..contacts, deals 1..deals, and so on. Like
    any company its owner is Context.owner(its row number): the first sales rep."""

    contacts: int = 0
    deals: int = 0
    leads: int = 0
    notes: int = 0
    tasks: int = 0
    contracts: int = 0
    documents: int = 0

    @classmethod
    def sized(cls, contacts: int, available: dict[str, int]) -> BigCompany:
        """`contacts` people at the company, and its other rows in proportion (a fifth as many
        deals, a quarter as many notes on the company itself...), never more than the table
        holds (`available`: rows per table)."""
        contacts = min(contacts, available.get("contacts", 0))
        if contacts <= 0:
            return cls()
        shares = {"deals": 5, "leads": 10, "notes": 4, "tasks": 10, "contracts": 20}
        shares["documents"] = 10
        sizes = {name: min(contacts // d, available.get(name, 0)) for name, d in shares.items()}
        return cls(contacts=contacts, **sizes)

    def row(self, count: int, random_row: str) -> str:
        """The company row number for rows 1..count of a table (the big company's), and
        `random_row` for the rest."""
        if count <= 0:
            return random_row
        return f"CASE WHEN i <= {count} THEN {BIG_COMPANY_ROW} ELSE {random_row} END"


@dataclass(frozen=True)
class Context:
    """What the expressions need besides the row number: counts, ids made by the ORM first."""

    companies: int
    contacts: int
    leads: int
    deals: int
    vocab: sql.Vocabulary
    owners: list[str]  # sales reps and managers, reps listed twice: they own most records
    users: list[str]  # everyone who writes notes, is assigned tasks, watches records
    industries: list[str]
    deal_types: list[str]
    campaigns: list[str]
    stage_ids: list[str]  # all stages of all pipelines, pipeline by pipeline
    stage_status: list[str]  # open / won / lost, parallel to stage_ids
    pipeline_ids: list[str]
    pipeline_offsets: list[int]  # index in stage_ids of each pipeline's first stage
    pipeline_sizes: list[int]
    custom_share: float
    document_types: list[str] = field(default_factory=list)
    contracts: int = 0
    documents: int = 0
    teams: dict[str, list[str]] = field(default_factory=dict)  # name -> members, manager first
    big: BigCompany = field(default_factory=BigCompany)

    def owner(self, index: str) -> str:
        return f"{sql.uuid_array(self.owners)}[1 + ({index}) % {len(self.owners)}]"

    def any_user(self, index: str) -> str:
        return f"{sql.uuid_array(self.users)}[1 + ({index}) % {len(self.users)}]"

    def team_member(self, team: str, index: str) -> str:
        """Member number `index` (modulo the team's size) of team number `team`, 0-based; both
        are SQL expressions. Project boards stay within a team: owner, card owners, assignees."""
        arms = " ".join(
            f"WHEN {t} THEN {sql.uuid_array(members)}[1 + ({index}) % {len(members)}]"
            for t, members in enumerate(self.teams.values())
        )
        return f"(CASE ({team}) {arms} END)"

    def random_row(self, count: int, share: float = 1.0) -> str:
        """A row number in [1, count], or NULL for (1 - share) of rows or an empty table."""
        if count <= 0 or share <= 0:
            return "NULL::int"
        number = f"1 + floor(random() * {count})::int"
        return number if share >= 1 else f"CASE WHEN random() < {share} THEN {number} END"

    def lookup(self, ids: list[str], share: float) -> str:
        if not ids:
            return "NULL"
        return (
            f"CASE WHEN random() < {share} THEN "
            f"{sql.uuid_array(ids)}[1 + floor(random() * {len(ids)})::int] END"
        )

    # A company's identity is a function of its row number (see the module docstring).
    def _word(self, c: str) -> str:
        return f"{sql.array(self.vocab.words)}[1 + ({c}) % {len(self.vocab.words)}]"

    def _last(self, c: str) -> str:
        # (c / words + k * c) mod lasts: neighbouring companies get different last names, and
        # with 1 + k * words coprime to lasts, (word, last) pairs still repeat only after
        # words x lasts companies.
        words, lasts = len(self.vocab.words), len(self.vocab.last)
        k = next(k for k in range(1, lasts) if math.gcd(1 + k * words, lasts) == 1)
        return f"{sql.array(self.vocab.last)}[1 + (({c}) / {words} + {k} * ({c})) % {lasts}]"

    def company_name(self, c: str) -> str:
        suffixes = sql.array(sql.COMPANY_SUFFIXES)
        n = len(sql.COMPANY_SUFFIXES)
        return f"initcap({self._word(c)}) || ' ' || {self._last(c)} || {suffixes}[1 + ({c}) % {n}]"

    def domain(self, c: str) -> str:
        # Unique while c < words x last names x TLDs (~1.4M companies).
        combos = len(self.vocab.words) * len(self.vocab.last)
        tld = f"{sql.array(sql.TLDS)}[1 + (({c}) / {combos}) % {len(sql.TLDS)}]"
        return f"lower({self._word(c)} || {self._last(c)}) || '.' || {tld}"

    def person(self) -> tuple[dict[str, str], str, str]:
        """Derived columns drawing a name (2% with two letters swapped: search must forgive
        typos in the data too), and the first and last name expressions over them."""
        first, last = self.vocab.first, self.vocab.last
        derived = {
            "fx": f"1 + floor(random() * {len(first)})::int",
            "lx": f"1 + floor(random() * {len(last)})::int",
            "typo": "random() < 0.02",
        }
        raw = f"{sql.array(last)}[lx]"
        swapped = (
            f"substr({raw}, 1, 1) || substr({raw}, 3, 1) || substr({raw}, 2, 1) "
            f"|| substr({raw}, 4)"
        )
        return (
            derived,
            f"{sql.array(first)}[fx]",
            f"(CASE WHEN typo THEN {swapped} ELSE {raw} END)",
        )

    def custom(self, fields: dict[str, str]) -> str:
        """custom_fields: these keys on a share of rows, an empty object (the default) on the
        others. Values have the JSON types crm.custom_fields normalises to."""
        pairs = ", ".join(f"'{key}', {expr}" for key, expr in fields.items())
        return (
            f"CASE WHEN random() < {self.custom_share} THEN jsonb_build_object({pairs}) "
            "ELSE '{}'::jsonb END"
        )
