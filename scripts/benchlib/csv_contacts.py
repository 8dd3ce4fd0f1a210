"""The data of the CSV import benchmark (scripts/bench_csv_import.py): a seeded contacts CSV
and the records it refers to.

Rows are drawn with `random` from pools of Faker names made once: a million Faker calls would
take longer than the import being measured. Files are written row by row, so generating them
needs no more memory at a million rows than at a thousand.
"""

from __future__ import annotations

import csv
import random
import re
import unicodedata
from pathlib import Path

USER_EMAIL = "importer@bench.example"
HEADERS = [
    "First Name", "Last Name", "Email", "Phone", "Mobile", "Company", "Job Title", "City",
    "Country", "Tags", "Region", "Lead score",
]  # fmt: skip
REGIONS = ["EMEA", "North America", "LATAM", "APAC"]
TAGS = ["vip", "newsletter", "partner", "trade-show", "webinar", "churn-risk", "reference"]
SEEDED_COMPANIES = 2_000
NEW_COMPANIES = 500


def ascii_slug(text: str) -> str:
    """'hans-jurgen' from 'Hans-Jürgen', for email addresses and domains."""
    folded = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9-]+", "", folded).strip("-")


class People:
    """Seeded rows for the CSV: name pools from Faker, drawn with `random`."""

    def __init__(self, seed: int) -> None:
        from faker import Faker

        fake = Faker(["en_US", "de_DE", "fr_FR"])
        fake.seed_instance(seed)
        self.rng = random.Random(seed)
        self.first = sorted({fake.first_name() for _ in range(600)})
        self.last = sorted({fake.last_name() for _ in range(900)})
        self.cities = sorted({fake.city() for _ in range(300)})
        self.countries = sorted({fake.country() for _ in range(60)})
        self.jobs = sorted({fake.job()[:160] for _ in range(300)})
        names: set[str] = set()
        while len(names) < SEEDED_COMPANIES + NEW_COMPANIES:
            names.add(f"{fake.company()} {fake.company_suffix()}"[:200])
        ordered = sorted(names)
        self.rng.shuffle(ordered)
        self.companies = ordered[:SEEDED_COMPANIES]
        self.new_companies = ordered[SEEDED_COMPANIES:]
        # Distinct domains: two companies sharing one would make a domain cell ambiguous.
        self.domains = {name: f"{ascii_slug(name)[:40]}-{n}.example" for n, name in
                        enumerate(self.companies)}  # fmt: skip

    def phone(self) -> str:
        rng = self.rng
        return f"+1 {rng.randint(200, 999)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"

    def company(self) -> str:
        draw = self.rng.random()
        if draw < 0.60:
            return self.rng.choice(self.companies)
        if draw < 0.65:
            return self.domains[self.rng.choice(self.companies)]
        if draw < 0.75:
            return self.rng.choice(self.new_companies)
        return ""

    def row(self, number: int) -> list[str]:
        rng = self.rng
        first, last = rng.choice(self.first), rng.choice(self.last)
        email = f"{ascii_slug(first)}.{ascii_slug(last)}.{number}@example.com"
        return [
            first, last, email, self.phone(), self.phone() if rng.random() < 0.5 else "",
            self.company(), rng.choice(self.jobs), rng.choice(self.cities),
            rng.choice(self.countries), "; ".join(rng.sample(TAGS, rng.randint(1, 3))),
            rng.choice(REGIONS), str(rng.randint(0, 100)),
        ]  # fmt: skip

    def change(self, row: list[str]) -> list[str]:
        """The same contact with a new job title, phone, tags and lead score."""
        row = list(row)
        row[HEADERS.index("Job Title")] = self.rng.choice(self.jobs) + " (new)"
        row[HEADERS.index("Phone")] = self.phone()
        row[HEADERS.index("Tags")] = "; ".join(self.rng.sample(TAGS, 2)) + "; moved"
        row[HEADERS.index("Lead score")] = str(int(row[HEADERS.index("Lead score")]) % 100 + 1)
        return row


def write_files(people: People, rows: int, changed: float, workdir: Path) -> tuple[Path, Path]:
    """The create file and the upsert file (the same rows, `changed` of them edited), each
    written row by row: neither is ever held in memory here either."""
    create, upsert = workdir / "contacts.csv", workdir / "contacts-changed.csv"
    with (
        create.open("w", newline="", encoding="utf-8") as first,
        upsert.open("w", newline="", encoding="utf-8") as second,
    ):
        writers = csv.writer(first), csv.writer(second)
        for writer in writers:
            writer.writerow(HEADERS)
        for number in range(rows):
            row = people.row(number)
            writers[0].writerow(row)
            writers[1].writerow(people.change(row) if people.rng.random() < changed else row)
    return create, upsert


def seed(people: People) -> None:
    """The importing sales rep (in a team), the companies rows name, the custom fields."""
    from accounts.models import Team, User
    from audit.context import audit_context
    from crm.models import Company, CustomFieldDefinition

    with audit_context({"user_id": None, "command": "bench_csv_import"}):
        team = Team.objects.create(name="Bench team")
        user = User.objects.create_user(USER_EMAIL, None, name="Ivy Importer", team=team)
        Company.objects.bulk_create(
            Company(name=name, domain=domain, owner=user)
            for name, domain in people.domains.items()
        )
        CustomFieldDefinition.objects.create(
            entity="contact", key="region", label="Region", field_type="choice", choices=REGIONS
        )
        CustomFieldDefinition.objects.create(
            entity="contact", key="lead_score", label="Lead score", field_type="number"
        )
