"""Column expressions of the scale dataset's contracts, documents and project boards, and the
link rows that go with them (crm/scale/seed.py runs them; tables.py explains the approach).

Two things differ from the record tables:
- A contract that closes a deal reads that deal's row (one primary-key lookup, the row as a
  composite value `dl`), so its company, owner, value and currency agree with the deal's.
- A document's linked record is a function of its row number alone (_document_target), so the
  document insert (which takes the record's owner) and the link-table inserts agree without
  reading each other's rows.
Project boards belong to a team: board i to team (i - 1) mod teams, its cards to members of it.
"""

from __future__ import annotations

from typing import Any

from . import sql
from .context import Context
from .sql import pick, row_id
from .tables import CREATED, SINCE_CREATED, UPDATED, Columns

# Picks a row of a table from a row number without repeats (while the table is not a multiple
# of the prime): a function of i, so another statement can recompute it.
_SPREAD = 48271
# A document's record by row number: 4 in 10 on companies, 3 on contacts, 2 on deals, 1 on a
# contract.
_DOCUMENT_SLOTS = ["company"] * 4 + ["contact"] * 3 + ["deal"] * 2 + ["contract"]
# A document's record kind -> its many-to-many field on Document.
_DOCUMENT_LINKS = {
    "company": "companies",
    "contact": "contacts",
    "deal": "deals",
    "contract": "contracts",
}
_MIME = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


def _spread(count: int, index: str = "i") -> str:
    return f"(1 + ({index})::bigint * {_SPREAD} % {count})::int"


def contracts(ctx: Context) -> Columns:
    # 40% of the contracts close a deal. The subquery is correlated on i: an uncorrelated one
    # would be evaluated once for the whole statement. The big company's contracts close none.
    deal = "NULL::crm_deal"
    if ctx.deals:
        deal_id = row_id("deal", _spread(ctx.deals))
        lookup = f"SELECT d FROM crm_deal AS d WHERE d.id = {deal_id}"  # noqa: S608
        deal = f"CASE WHEN i > {ctx.big.contracts} AND random() < 0.4 THEN ({lookup}) END"
    derived = {
        "dl": deal,
        "c": ctx.big.row(ctx.big.contracts, ctx.random_row(ctx.companies, 0.95)),
        "r": "random()",
        "kind": pick(sql.CONTRACT_TYPES),
        "created": CREATED,
        "s": "random()",
        # Months; 0 = open-ended (no end, no renewal reminder).
        "term": "CASE WHEN random() < 0.1 THEN 0 ELSE 12 * (1 + floor(random() * 3))::int END",
    }
    linked = "(dl).id IS NOT NULL"
    status = (
        f"(CASE WHEN {linked} AND (dl).status = 'won' THEN 'signed' "
        f"WHEN {linked} AND (dl).status = 'open' AND r < 0.5 THEN 'in_progress' "
        f"WHEN {linked} THEN 'not_started' "
        "WHEN r < 0.6 THEN 'signed' WHEN r < 0.8 THEN 'in_progress' ELSE 'not_started' END)"
    )
    start = "(created + s * interval '90 days')::date"
    currencies = pick(["USD"] * 6 + ["EUR"] * 3 + ["GBP"])
    term = "term * interval '1 month'"
    signed = f"{status} = 'signed'"
    given = {
        "id": row_id("contract", "i"),
        "title": (
            f"CASE WHEN {linked} THEN (dl).name WHEN c IS NOT NULL THEN {ctx.company_name('c')} "
            f"ELSE initcap({pick(ctx.vocab.words)}) END || ' - ' || kind"
        ),
        "company_id": (
            f"CASE WHEN {linked} THEN (dl).company_id "
            f"WHEN c IS NOT NULL THEN {row_id('company', 'c')} END"
        ),
        "deal_id": "(dl).id",
        "type": "kind",
        # contract_value_non_negative, contract_currency_iso: the deal's, or drawn alike.
        "value": (
            f"CASE WHEN {linked} THEN (dl).amount "
            "ELSE round((1000 + random() * 249000)::numeric, 2) END"
        ),
        "currency": f"CASE WHEN {linked} THEN (dl).currency ELSE {currencies} END",
        "status": status,
        "start_date": start,
        # contract_ends_after_start: a term of 12 to 36 months, or none.
        "end_date": f"CASE WHEN term > 0 THEN ({start} + {term})::date END",
        "renewal_reminder_date": (
            f"CASE WHEN term > 0 THEN ({start} + {term} - interval '60 days')::date END"
        ),
        "customer_signed_date": f"CASE WHEN {signed} THEN {start} - floor(s * 20)::int END",
        "company_signed_date": f"CASE WHEN {signed} THEN {start} - floor(s * 10)::int END",
        "owner_id": (
            f"CASE WHEN {linked} THEN (dl).owner_id WHEN c IS NOT NULL THEN {ctx.owner('c')} "
            f"ELSE {ctx.owner('i')} END"
        ),
        "shared_with_team": f"CASE WHEN {linked} THEN (dl).shared_with_team ELSE r < 0.3 END",
        "created_at": "created",
        "updated_at": UPDATED,
    }
    return given, derived


def _document_target(ctx: Context) -> tuple[str, str]:
    """(kind, row number) of the record document i is linked to, as functions of i alone;
    kind is NULL when every table it could point at is empty."""
    counts = {
        "company": ctx.companies,
        "contact": ctx.contacts,
        "deal": ctx.deals,
        "contract": ctx.contracts,
    }
    slots = [kind for kind in _DOCUMENT_SLOTS if counts[kind] > 0]
    kind = f"{sql.array(slots)}[1 + i % {len(slots)}]" if slots else "NULL::text"
    rows = " ".join(
        f"WHEN '{name}' THEN {_spread(count)}" for name, count in counts.items() if count
    )
    row = f"CASE {kind} {rows} END" if rows else "NULL::int"
    if ctx.big.documents:
        kind = f"CASE WHEN i <= {ctx.big.documents} THEN 'company' ELSE {kind} END"
        row = ctx.big.row(ctx.big.documents, row)
    return kind, row


def documents(ctx: Context) -> Columns:
    # document_file_or_url: every seeded document is a link to a file kept elsewhere.
    kind, target = _document_target(ctx)
    document_kind = (
        f"CASE {kind} WHEN 'contract' THEN 'contract' WHEN 'deal' THEN 'offer' "
        f"ELSE {pick(['invoice', 'receipt', 'other', 'other', 'other'])} END"
    )
    derived = {
        "kind": kind,
        "target": target,
        "dk": document_kind,
        "fmt": "random()",
        "tn": f"1 + floor(random() * {len(sql.DOCUMENT_TITLES)})::int",
        "created": CREATED,
    }
    ext = (
        "(CASE WHEN dk <> 'other' OR fmt < 0.5 THEN 'pdf' WHEN fmt < 0.7 THEN 'docx' "
        "WHEN fmt < 0.85 THEN 'xlsx' ELSE 'pptx' END)"
    )
    label = (
        "CASE dk WHEN 'invoice' THEN 'Invoice INV-' || lpad(i::text, 7, '0') "
        "WHEN 'receipt' THEN 'Receipt ' || to_char(created, 'YYYY-MM-DD') "
        "WHEN 'contract' THEN 'Signed contract ' || to_char(created, 'YYYY') "
        "WHEN 'offer' THEN 'Offer ' || to_char(created, 'YYYY-MM') "
        f"ELSE {sql.array(sql.DOCUMENT_TITLES)}[tn] END"
    )
    name = f"({label} || '.' || {ext})"
    mime = " ".join(f"WHEN '{e}' THEN '{m}'" for e, m in _MIME.items())
    # The owner is the linked record's: the company's by its row number, another record's by
    # a primary-key lookup (the subqueries name g.target: a bare name would resolve against
    # the looked-up table's columns first).
    owners = " ".join(
        f"WHEN '{t}' THEN (SELECT owner_id FROM crm_{t} WHERE id = {row_id(t, 'g.target')})"  # noqa: S608
        for t in ("contact", "deal", "contract")
    )
    given = {
        "id": row_id("document", "i"),
        "name": name,
        "url": (
            "'https://files.example.com/d/' || substr(md5('document:' || i), 1, 12) || '/' "
            f"|| replace(lower({name}), ' ', '-')"
        ),
        "mime_type": f"CASE {ext} {mime} END",
        "size": "(20000 + floor(random() * 5000000))::bigint",  # document_size_non_negative
        "kind": "dk",
        "document_type_id": ctx.lookup(ctx.document_types, 0.7),
        "owner_id": (
            f"CASE kind WHEN 'company' THEN {ctx.owner('target')} {owners} "
            f"ELSE {ctx.owner('i')} END"
        ),
        "shared_with_team": "random() < 0.3",
        "created_at": "created",
        "updated_at": UPDATED,
    }
    return given, derived


def document_links(ctx: Context, documents: int) -> list[tuple[str, str]]:
    """(table, SQL) filling each document's link to its record (_document_target)."""
    from crm.models import Document

    kind, target = _document_target(ctx)
    rows = (
        f"(SELECT i, {kind} AS kind, {target} AS target "  # noqa: S608
        f"FROM generate_series(1, {documents}) AS i) AS g"
    )
    statements = []
    for tag, field_name in _DOCUMENT_LINKS.items():
        field = Document._meta.get_field(field_name)
        table = field.remote_field.through._meta.db_table
        statements.append(
            (
                table,
                f"INSERT INTO {table} ({field.m2m_column_name()}, {field.m2m_reverse_name()}) "  # noqa: S608
                f"SELECT {row_id('document', 'i')}, {row_id(tag, 'target')} FROM {rows} "
                f"WHERE kind = '{tag}'",
            )
        )
    return statements


def _board_team(ctx: Context, board: str) -> str:
    return f"(({board}) - 1) % {len(ctx.teams)}"


def boards(ctx: Context) -> Columns:
    teams = len(ctx.teams)
    rounds = f"((i - 1) / {teams})"  # 0 for each team's first board, 1 for its second...
    names = sql.array(list(ctx.teams))
    projects = sql.array(sql.BOARD_PROJECTS)
    team = f"{names}[1 + {_board_team(ctx, 'i')}]"
    derived = {"created": CREATED}
    given = {
        "id": row_id("board", "i"),
        "title": (
            f"{projects}[1 + {rounds} % {len(sql.BOARD_PROJECTS)}] || ' - ' "
            f"|| {team} || CASE WHEN {rounds} >= "
            f"{len(sql.BOARD_PROJECTS)} THEN ' ' || (1 + {rounds} / {len(sql.BOARD_PROJECTS)}) "
            "ELSE '' END"
        ),
        "description": f"'Project board of the ' || {team} || ' team.'",
        # Each team's first boards are the team's, then one for everyone, then a private one.
        "visibility": (
            f"CASE {rounds} % 5 WHEN 3 THEN 'public' WHEN 4 THEN 'private' ELSE 'team' END"
        ),
        "position": rounds,
        "owner_id": ctx.team_member(_board_team(ctx, "i"), rounds),
        "created_at": "created",
        "updated_at": UPDATED,
    }
    return given, derived


def sections(ctx: Context) -> Columns:
    per_board = len(sql.BOARD_SECTIONS)
    given = {
        "id": row_id("section", "i"),
        "board_id": row_id("board", f"1 + (i - 1) / {per_board}"),
        "title": f"{sql.array([t for t, _ in sql.BOARD_SECTIONS])}[1 + (i - 1) % {per_board}]",
        "position": f"(i - 1) % {per_board}",
    }
    return given, {}


def board_tasks(ctx: Context, first: int, sections: int) -> Columns:
    """The cards of every board section, as task rows `first`, `first` + 1, ...: card j
    (0-based) goes to section 1 + j mod sections at position j / sections, so each section's
    positions run 0..n-1 as the board's own moves keep them."""
    per_board = len(sql.BOARD_SECTIONS)
    j = f"(i - {first})"
    section = f"({j} % {sections})"  # 0-based
    team = _board_team(ctx, f"1 + {section} / {per_board}")
    statuses = sql.array([s for _, s in sql.BOARD_SECTIONS])
    derived = {
        "status": f"{statuses}[1 + {section} % {per_board}]",
        "created": CREATED,
        "a": "floor(random() * 10)::int",
    }
    given = {
        "id": row_id("task", "i"),
        "title": pick(sql.BOARD_TASK_TITLES),
        "priority": pick(["low", "medium", "medium", "high"]),
        "status": "status",
        "due_at": "created + random() * interval '60 days'",
        # task_completed_only_when_done; task_at_most_one_parent: board cards have none.
        "completed_at": f"CASE WHEN status = 'done' THEN {SINCE_CREATED} END",
        "assignee_id": ctx.team_member(team, "a"),
        "owner_id": ctx.team_member(team, j),
        "section_id": row_id("section", f"1 + {section}"),
        "position": f"{j} / {sections}",
        "created_at": "created",
        "updated_at": UPDATED,
    }
    return given, derived


def board_links(ctx: Context, boards: int) -> list[tuple[str, str]]:
    """(table, SQL): every third board shared with someone (often outside its team), every
    second one watched."""
    from crm.models import Board

    statements: list[tuple[str, str]] = []
    for field_name, step, spread in (("shared_with", 3, 5), ("watchers", 2, 3)):
        field: Any = Board._meta.get_field(field_name)
        table = field.remote_field.through._meta.db_table
        statements.append(
            (
                table,
                f"INSERT INTO {table} ({field.m2m_column_name()}, {field.m2m_reverse_name()}) "  # noqa: S608
                f"SELECT {row_id('board', 'i')}, {ctx.any_user(f'i * {spread}')} "
                f"FROM generate_series({step}, {boards}, {step}) AS i",
            )
        )
    return statements
