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

Derived rows need no step of their own: the open-deal counters (crm.DealStageTotal) are kept by
statement-level triggers on crm_deal, which an INSERT ... SELECT fires like any other write.
One big company (company row 0, BIG_COMPANY_ID, owned by rep01) gets `big_company` contacts and
its share of deals, leads, notes, tasks, contracts and documents, for the detail page of a
record with tens of thousands of related rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from audit.bulk import audit_bulk_batch

from . import reference, sql, tables, work
from .context import BIG_COMPANY_ID, BIG_COMPANY_ROW, Context
from .reference import SALES_REPS, SCALE_DOMAIN, SCALE_PASSWORD, TEAMS

__all__ = ["BIG_COMPANY_ID", "SALES_REPS", "SCALE_DOMAIN", "SCALE_PASSWORD", "TEAMS"]

BATCH_ROWS = 250_000


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
    links: bool = True  # deal contacts and watchers, board sharing and watchers
    contracts: int = 0
    documents: int = 0  # each linked to one company, contact, deal or contract
    boards: int = 0  # project boards, each with len(sql.BOARD_SECTIONS) sections
    board_tasks: int = 0  # cards on the boards, besides `tasks`
    big_company: int = 0  # contacts of the big company (0: no big company)

    @classmethod
    def proportional(cls, contacts: int, *, history: int = 1000) -> Plan:
        """Issue #8's proportions: a tenth as many companies, a fifth leads and deals, as many
        notes as contacts, tasks for 30%, contracts for 5% and documents for 10%. Boards: one
        per 50,000 contacts (at least one per team), 200 cards per 50,000 contacts (at least 5
        per section). The big company has 2% of the contacts, at least 300 (at most half)."""
        boards = max(len(TEAMS), contacts // 50_000)
        return cls(
            contacts=contacts,
            companies=contacts // 10,
            leads=contacts // 5,
            deals=contacts // 5,
            notes=contacts,
            tasks=contacts * 3 // 10,
            history=history,
            contracts=contacts // 20,
            documents=contacts // 10,
            boards=boards,
            board_tasks=max(boards * len(sql.BOARD_SECTIONS) * 5, contacts // 250),
            big_company=min(contacts // 2, max(300, contacts // 50)),
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
    big_company: Any = None  # its id (BIG_COMPANY_ID), None without one
    big_company_contacts: int = 0


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


# (label, model, first row, last row, column expressions given the context)
_Step = tuple[str, Any, int, int, Callable[[Context], tables.Columns]]


def _steps(plan: Plan, big: bool) -> list[_Step]:
    """The tables in load order: foreign keys are checked per statement, so a table comes
    after those it points at (board cards after the sections, documents after contracts)."""
    from crm.models import (
        Board,
        Company,
        Contact,
        Contract,
        Deal,
        Document,
        Lead,
        Note,
        Section,
        Task,
    )

    sections = plan.boards * len(sql.BOARD_SECTIONS)
    first_card = plan.tasks + 1  # cards are task rows after the record tasks: ids stay unique
    steps: list[_Step] = [
        (m._meta.db_table, m, first, last, columns)
        for m, first, last, columns in (
            (Company, BIG_COMPANY_ROW if big else 1, plan.companies, tables.companies),
            (Contact, 1, plan.contacts, tables.contacts),
            (Deal, 1, plan.deals, tables.deals),
            (Lead, 1, plan.leads, tables.leads),
            (Note, 1, plan.notes, tables.notes),
            (Task, 1, plan.tasks, tables.tasks),
            (Contract, 1, plan.contracts, work.contracts),
            (Document, 1, plan.documents, work.documents),
            (Board, 1, plan.boards, work.boards),
            (Section, 1, sections, work.sections),
        )
    ]
    if sections:
        steps.append(
            (
                "crm_task (boards)",
                Task,
                first_card,
                plan.tasks + plan.board_tasks,
                lambda ctx: work.board_tasks(ctx, first_card, sections),
            )
        )
    return steps


def _load_table(model: Any, first: int, last: int, columns: tables.Columns, seed: int) -> int:
    given, derived = columns
    table = model._meta.db_table
    done = 0
    for start in range(first, last + 1, BATCH_ROWS):
        end = min(start + BATCH_ROWS - 1, last)
        details = {"table": table, "first_row": start, "last_row": end, "seed": seed}
        with audit_bulk_batch(description=f"seed_scale: {table}", details=details):
            done += sql.insert_series(model, start, end, given, derived)
    return done


def _links(plan: Plan, ctx: Context) -> list[tuple[str, str]]:
    """(table, SQL) of the link rows: each document's record; with `plan.links`, each deal's
    primary contact among its contacts, watchers on a share of contacts, companies and deals
    (someone outside the owner's team often, which is what makes watching matter for
    visibility), and boards shared and watched."""
    documents = work.document_links(ctx, plan.documents) if plan.documents else []
    if not plan.links:
        return documents
    statements = [
        *documents,
        (
            "crm_deal_contacts",
            "INSERT INTO crm_deal_contacts (deal_id, contact_id) "
            "SELECT id, primary_contact_id FROM crm_deal WHERE primary_contact_id IS NOT NULL",
        ),
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
    return statements + (work.board_links(ctx, plan.boards) if plan.boards else [])


def _link_tables() -> list[str]:
    from crm.models import Board, Company, Contact, Deal, Document

    fields = [(Deal, "contacts"), (Contact, "watchers"), (Company, "watchers")]
    fields += [(Deal, "watchers"), (Board, "shared_with"), (Board, "watchers")]
    fields += [(Document, name) for name in ("companies", "contacts", "deals", "contracts")]
    return [m._meta.get_field(f).remote_field.through._meta.db_table for m, f in fields]


def _history(plan: Plan, rep: Any) -> int:
    """Real, row-by-row audited changes after the load: the known John Smith contact, and two
    edits each on the first `plan.history` contacts, edits on a fifth as many deals, leads and
    contracts."""
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
    if min(k, plan.contracts):
        changed += sql.execute(
            "UPDATE crm_contract SET description = 'Renewal terms agreed by phone.' "  # noqa: S608
            f"WHERE id IN {sample.format(t='contract', n=min(k, plan.contracts))}"
        )
    return changed


def seed(plan: Plan, *, seed: int = 0, out: Callable[[str], None] = print) -> Report:
    """Load `plan` into an empty CRM; `seed` makes the data repeatable. Progress goes to `out`."""
    started = time.perf_counter()
    vocab = sql.Vocabulary.build(seed)
    steps = _steps(plan, big=min(plan.big_company, plan.contacts) > 0)
    all_tables = list(dict.fromkeys(m._meta.db_table for _, m, *_ in steps)) + _link_tables()
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
        admin, managers, reps = reference.users(vocab)
        reference.custom_fields()
        ctx = reference.context(plan, vocab, managers, reps)
        report = Report(admin=admin, rep=reps[0], users=[admin, *managers, *reps])
        if ctx.big.contacts:
            report.big_company, report.big_company_contacts = BIG_COMPANY_ID, ctx.big.contacts
        indexes = sql.secondary_indexes(all_tables)
        sql.drop_indexes(indexes)
        inserting = time.perf_counter()
        for label, model, first, last, columns in steps:
            if last < first:
                continue
            table_started = time.perf_counter()
            done = _load_table(model, first, last, columns(ctx), seed)
            report.tables.append((label, done, time.perf_counter() - table_started))
            out(_line(*report.tables[-1]))
        for table, statement in _links(plan, ctx):
            table_started = time.perf_counter()
            with audit_bulk_batch(description=f"seed_scale: {table}", details={"table": table}):
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
