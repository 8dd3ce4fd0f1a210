"""Load the scale dataset: users, reference data, then every big table in set-based SQL.

The order of work, and why:
1. users, teams, lookups, pipelines and custom field definitions through the ORM (a few dozen
   rows, audited row by row like any write);
2. the secondary indexes of the big tables dropped: building each once at the end is several
   times faster than growing it row by row; primary keys, unique and check constraints and
   foreign keys stay, so the database still refuses any row that breaks a rule;
3. each table inserted with INSERT ... SELECT over generate_series, in batches of BATCH_ROWS,
   each batch inside audit_bulk_batch(): one `bulk` audit entry per batch says what was
   seeded, instead of a million row entries (the documented opt-out, docs/audit.md);
4. the indexes rebuilt, then a sample of records changed by plain audited UPDATEs, so their
   History pages show real entries;
5. VACUUM ANALYZE (visibility map and statistics for the planner) once committed.
Steps 1-4 are one transaction: a load that fails leaves no rows and every index in place.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from audit.bulk import audit_bulk_batch

from . import sql, tables

SCALE_DOMAIN = "scale.minicrm.local"
SCALE_PASSWORD = "minicrm-scale"  # noqa: S105 - printed on purpose: a local benchmark login
BATCH_ROWS = 250_000
TEAMS = ("North", "South", "East", "West")
SALES_REPS = 15
# (pipeline, [(stage, probability, won, lost)]): the default "Sales" pipeline plus two more.
EXTRA_PIPELINES = [
    (
        "Renewals",
        [
            ("Due", 60, False, False),
            ("Quoted", 80, False, False),
            ("Renewed", 100, True, False),
            ("Churned", 0, False, True),
        ],
    ),
    (
        "Partnerships",
        [
            ("Intro", 10, False, False),
            ("Evaluation", 30, False, False),
            ("Contracting", 70, False, False),
            ("Signed", 100, True, False),
            ("Declined", 0, False, True),
        ],
    ),
]
# (entity, key, label, type, choices): what the generated custom_fields values use.
CUSTOM_FIELDS = [
    ("contact", "segment", "Segment", "choice", ["SMB", "Mid-market", "Enterprise"]),
    ("contact", "nps", "NPS score", "number", []),
    ("contact", "newsletter", "Newsletter", "boolean", []),
    ("company", "tier", "Tier", "choice", ["Gold", "Silver", "Bronze"]),
    ("company", "renewal_date", "Renewal date", "date", []),
    ("deal", "source", "Source", "choice", ["Inbound", "Outbound", "Partner", "Referral"]),
    ("deal", "forecast", "Forecast", "choice", ["Pipeline", "Best case", "Commit"]),
    ("lead", "score", "Lead score", "number", []),
]


@dataclass(frozen=True)
class Plan:
    """How many rows of each table; `history` records get real audited changes."""

    contacts: int
    companies: int
    leads: int
    deals: int
    notes: int
    tasks: int
    history: int = 1000
    custom_share: float = 0.3
    links: bool = True  # deal contacts and watchers

    @classmethod
    def proportional(cls, contacts: int, *, history: int = 1000) -> Plan:
        """Issue #8's proportions: a tenth as many companies, a fifth leads and deals, as many
        notes as contacts, tasks for 30%."""
        return cls(
            contacts=contacts,
            companies=contacts // 10,
            leads=contacts // 5,
            deals=contacts // 5,
            notes=contacts,
            tasks=contacts * 3 // 10,
            history=history,
        )


@dataclass
class Report:
    admin: Any
    rep: Any  # a sales rep, owner of the known John Smith contact
    users: list[Any]
    tables: list[tuple[str, int, float]] = field(default_factory=list)  # (table, rows, s)
    insert_seconds: float = 0.0
    index_count: int = 0
    index_seconds: float = 0.0
    history_rows: int = 0
    total_seconds: float = 0.0


def existing_data() -> list[str]:
    """What already holds rows that the scale data would mix with (empty list: none)."""
    from accounts.models import User
    from crm.models import (
        Board,
        Company,
        Contact,
        Contract,
        Deal,
        Document,
        Invoice,
        Lead,
        Note,
        Task,
    )

    found = [
        m._meta.verbose_name_plural
        for m in (Company, Contact, Lead, Deal, Contract, Invoice, Document, Note, Task, Board)
        if m.objects.exists()
    ]
    if User.objects.filter(email__iendswith=f"@{SCALE_DOMAIN}").exists():
        found.append(f"users @{SCALE_DOMAIN}")
    return found


def _users(vocab: sql.Vocabulary) -> tuple[Any, list[Any], list[Any]]:
    """One admin, four managers and fifteen reps: 20 users, the same password hash for all
    (hashing is deliberately slow; once is enough)."""
    from accounts.models import Team, User

    password = make_password(SCALE_PASSWORD)
    teams = [Team.objects.get_or_create(name=f"Scale {name}")[0] for name in TEAMS]

    def create(email: str, n: int, **extra: Any) -> Any:
        name = f"{vocab.first[n * 7 % len(vocab.first)]} {vocab.last[n * 11 % len(vocab.last)]}"
        user = User(email=f"{email}@{SCALE_DOMAIN}", name=name, password=password, **extra)
        user.full_clean(exclude=["password"])
        user.save()
        return user

    admin = create("admin", 0, role="admin", is_staff=True, is_superuser=True)
    managers = [
        create(f"manager{t + 1:02d}", t + 1, role="manager", team=team)
        for t, team in enumerate(teams)
    ]
    reps = [
        create(f"rep{r + 1:02d}", r + 10, role="sales", team=teams[r % len(teams)])
        for r in range(SALES_REPS)
    ]
    return admin, managers, reps


def _lookups() -> dict[str, list[str]]:
    from crm.models import Campaign, DealType, Industry

    made: dict[str, list[str]] = {}
    for key, model, names in (
        ("industries", Industry, sql.INDUSTRIES),
        ("deal_types", DealType, ["New business", "Upsell", "Renewal", "Cross-sell"]),
        ("campaigns", Campaign, ["Spring webinar", "Trade fair", "Newsletter", "Partner day"]),
    ):
        made[key] = [str(model.objects.get_or_create(name=n)[0].pk) for n in names]
    return made


def _pipelines() -> list[Any]:
    from crm.models import Pipeline, Stage
    from crm.services.pipelines import pipeline_ensure_default

    pipelines = [pipeline_ensure_default()]
    for position, (name, stages) in enumerate(EXTRA_PIPELINES, start=1):
        pipeline, created = Pipeline.objects.get_or_create(
            name=name, defaults={"position": position}
        )
        if created:
            for index, (stage, probability, won, lost) in enumerate(stages):
                Stage.objects.create(
                    pipeline=pipeline,
                    name=stage,
                    position=index,
                    probability=probability,
                    is_won=won,
                    is_lost=lost,
                )
        pipelines.append(pipeline)
    return pipelines


def _custom_fields() -> None:
    from crm.models import CustomFieldDefinition

    for position, (entity, key, label, kind, choices) in enumerate(CUSTOM_FIELDS):
        definition, _ = CustomFieldDefinition.objects.get_or_create(
            entity=entity,
            key=key,
            defaults={
                "label": label,
                "field_type": kind,
                "choices": choices,
                "position": position,
            },
        )
        if definition.field_type != kind:
            # The generated values would not validate against another type.
            raise ValueError(f"custom field {entity}.{key} exists as {definition.field_type}")


def _context(plan: Plan, vocab: sql.Vocabulary, managers: list, reps: list) -> tables.Context:
    stage_ids, stage_status, pipeline_ids, offsets, sizes = [], [], [], [], []
    for pipeline in _pipelines():
        stages = list(pipeline.stages.order_by("position"))
        pipeline_ids.append(str(pipeline.pk))
        offsets.append(len(stage_ids))
        sizes.append(len(stages))
        stage_ids += [str(s.pk) for s in stages]
        stage_status += ["won" if s.is_won else "lost" if s.is_lost else "open" for s in stages]
    return tables.Context(
        companies=plan.companies,
        contacts=plan.contacts,
        leads=plan.leads,
        deals=plan.deals,
        vocab=vocab,
        owners=[str(u.pk) for u in reps * 2 + managers],
        users=[str(u.pk) for u in managers + reps],
        stage_ids=stage_ids,
        stage_status=stage_status,
        pipeline_ids=pipeline_ids,
        pipeline_offsets=offsets,
        pipeline_sizes=sizes,
        custom_share=plan.custom_share,
        **_lookups(),
    )


def _load_table(model: Any, rows: int, columns: tables.Columns, seed: int) -> int:
    given, derived = columns
    table = model._meta.db_table
    done = 0
    for first in range(1, rows + 1, BATCH_ROWS):
        last = min(first + BATCH_ROWS - 1, rows)
        details = {"table": table, "first_row": first, "last_row": last, "seed": seed}
        with audit_bulk_batch(description=f"seed_scale: {table}", details=details):
            done += sql.insert_series(model, first, last, given, derived)
    return done


def _links(plan: Plan, ctx: tables.Context) -> list[tuple[str, str]]:
    """(table, SQL) of the link rows: each deal's primary contact among its contacts, and
    watchers on a share of contacts, companies and deals (someone outside the owner's team
    often, which is what makes watching matter for visibility)."""
    statements = [
        (
            "crm_deal_contacts",
            "INSERT INTO crm_deal_contacts (deal_id, contact_id) "
            "SELECT id, primary_contact_id FROM crm_deal WHERE primary_contact_id IS NOT NULL",
        )
    ]
    for table, count, step in (("contact", plan.contacts, 100), ("company", plan.companies, 50)):
        statements.append(
            (
                f"crm_{table}_watchers",
                f"INSERT INTO crm_{table}_watchers ({table}_id, user_id) "  # noqa: S608
                f"SELECT {sql.row_id(table, 'i')}, {ctx.any_user('i * 7')} "
                f"FROM generate_series(1, {count}, {step}) AS i",
            )
        )
    statements.append(
        (
            "crm_deal_watchers",
            f"INSERT INTO crm_deal_watchers (deal_id, user_id) "  # noqa: S608
            f"SELECT {sql.row_id('deal', 'i')}, {ctx.any_user('i * 3')} "
            f"FROM generate_series(1, {plan.deals}, 50) AS i",
        )
    )
    return statements


def _history(plan: Plan, rep: Any) -> int:
    """Real, row-by-row audited changes after the load: the known John Smith contact, and two
    edits each on the first `plan.history` contacts, edits on a fifth as many deals and leads."""
    from crm.models import Contact

    Contact.objects.create(
        first_name="John",
        last_name="Smith",
        email="john.smith@example.com",
        phone="+1 555 010 2030",
        position="Head of Sales",
        owner=rep,
    )
    n, k = min(plan.history, plan.contacts), min(plan.history // 5, plan.deals)
    sample = f"(SELECT {sql.row_id('{t}', 'i')} FROM generate_series(1, {{n}}) AS i)"  # noqa: S608
    changed = 1
    if n:
        ids = sample.format(t="contact", n=n)
        changed += sql.execute(
            f"UPDATE crm_contact SET position = {sql.pick(sql.JOB_TITLES)}, "  # noqa: S608
            f"last_activity_at = now() WHERE id IN {ids}"
        )
        changed += sql.execute(
            f"UPDATE crm_contact SET shared_with_team = NOT shared_with_team, "  # noqa: S608
            f"phone = '+1 555 ' || lpad((random() * 9999999)::int::text, 7, '0') WHERE id IN {ids}"
        )
    if k:
        changed += sql.execute(
            "UPDATE crm_deal SET amount = round(amount * 1.1, 2), "  # noqa: S608
            f"next_step = 'Follow-up call booked' WHERE id IN {sample.format(t='deal', n=k)}"
        )
    if min(k, plan.leads):
        changed += sql.execute(
            "UPDATE crm_lead SET status = 'contacted' WHERE status = 'new' "  # noqa: S608
            f"AND id IN {sample.format(t='lead', n=min(k, plan.leads))}"
        )
    return changed


def seed(plan: Plan, *, seed: int = 0, out: Callable[[str], None] = print) -> Report:
    """Load `plan` into an empty CRM; `seed` makes the data repeatable. Progress goes to `out`."""
    from crm.models import Company, Contact, Deal, Lead, Note, Task

    started = time.perf_counter()
    vocab = sql.Vocabulary.build(seed)
    big = [(Company, plan.companies, tables.companies), (Contact, plan.contacts, tables.contacts)]
    big += [(Deal, plan.deals, tables.deals), (Lead, plan.leads, tables.leads)]
    big += [(Note, plan.notes, tables.notes), (Task, plan.tasks, tables.tasks)]
    link_tables = ["crm_deal_contacts", "crm_contact_watchers", "crm_company_watchers"]
    all_tables = [m._meta.db_table for m, _, _ in big] + [*link_tables, "crm_deal_watchers"]
    with transaction.atomic():
        sql.execute("SELECT setseed(%s)", [(seed % 1_000_003) / 1_000_003])
        # Index builds sort in memory up to this; the load's transition tables and foreign
        # key queues stay in memory longer with more work_mem.
        sql.execute("SET LOCAL maintenance_work_mem = '512MB'")
        sql.execute("SET LOCAL work_mem = '64MB'")
        # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: checked at commit, a
        # million queued checks would be held in memory and CREATE INDEX refuses a table with
        # pending checks. Checked at the end of each statement instead.
        sql.execute("SET CONSTRAINTS ALL IMMEDIATE")
        admin, managers, reps = _users(vocab)
        _custom_fields()
        ctx = _context(plan, vocab, managers, reps)
        report = Report(admin=admin, rep=reps[0], users=[admin, *managers, *reps])
        indexes = sql.secondary_indexes(all_tables)
        sql.drop_indexes(indexes)
        inserting = time.perf_counter()
        for model, rows, columns in big:
            if rows <= 0:
                continue
            table_started = time.perf_counter()
            done = _load_table(model, rows, columns(ctx), seed)
            report.tables.append((model._meta.db_table, done, time.perf_counter() - table_started))
            out(_line(*report.tables[-1]))
        if plan.links:
            for table, statement in _links(plan, ctx):
                table_started = time.perf_counter()
                with audit_bulk_batch(
                    description=f"seed_scale: {table}", details={"table": table}
                ):
                    done = sql.execute(statement)
                report.tables.append((table, done, time.perf_counter() - table_started))
                out(_line(*report.tables[-1]))
        report.insert_seconds = time.perf_counter() - inserting
        indexing = time.perf_counter()
        sql.create_indexes(indexes)
        sql.execute("SET CONSTRAINTS ALL DEFERRED")  # back to the constraints' own timing
        report.index_count = len(indexes)
        out(f"  {len(indexes)} indexes rebuilt in {time.perf_counter() - indexing:.1f} s")
        report.history_rows = _history(plan, report.rep)
        out(f"  {report.history_rows:,} audited changes for the history sample")
    analyzing = time.perf_counter()
    # VACUUM cannot run inside a transaction (a test's, or a caller's): ANALYZE alone then.
    verb = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    for table in all_tables:
        sql.execute(f"{verb} {table}")
    out(f"  {verb} in {time.perf_counter() - analyzing:.1f} s")
    report.index_seconds = time.perf_counter() - indexing
    report.total_seconds = time.perf_counter() - started
    return report


def _line(table: str, rows: int, seconds: float) -> str:
    rate = rows / seconds if seconds > 0 else 0
    return f"  {table:<22} {rows:>10,} rows {seconds:8.1f} s {rate:>10,.0f} rows/s"
