"""The per-table column expressions of the scale dataset (crm/scale/seed.py runs them).

Each function returns (given, derived) for sql.insert_series(): `derived` draws the random
numbers of a row once (which company, which name, which stage), `given` turns them into column
values. Rows point at each other by drawing a row number and deriving its id (sql.row_id), and
a company's name, domain and owner are functions of its row number too (crm/scale/context.py),
so a contact can get an email at its company's domain and its company's owner without a join.
The first rows of each table belong to the big company (context.BigCompany). Every value
satisfies the models' check constraints by construction (see the comments where a rule
applies). Contracts, documents and project boards are in crm/scale/work.py.
"""

from __future__ import annotations

from . import sql
from .context import Context
from .sql import pick, row_id

Columns = tuple[dict[str, str], dict[str, str]]
CREATED = "now() - random() * interval '1095 days'"
# Between created_at and now: the touch trigger is bypassed by INSERT, so the load sets both.
SINCE_CREATED = "created + random() * (now() - created)"
UPDATED = SINCE_CREATED


def _phone() -> str:
    return (
        "'+1 ' || (200 + floor(random() * 800))::int || ' 555 ' "
        "|| lpad(floor(random() * 10000)::int::text, 4, '0')"
    )


def _city() -> tuple[str, str]:
    cities = sql.array([c for c, _ in sql.CITIES])
    countries = sql.array([k for _, k in sql.CITIES])
    return f"{cities}[city]", f"{countries}[city]"


def companies(ctx: Context) -> Columns:
    city, country = _city()
    derived = {"created": CREATED, "city": f"1 + floor(random() * {len(sql.CITIES)})::int"}
    given = {
        "id": row_id("company", "i"),
        "name": ctx.company_name("i"),
        "domain": ctx.domain("i"),
        "website": f"'https://www.' || {ctx.domain('i')}",
        "email": f"'info@' || {ctx.domain('i')}",
        "phone": _phone(),
        "industry_id": ctx.lookup(ctx.industries, 0.9),
        "type": pick(["customer"] * 4 + ["prospect"] * 3 + ["partner", "vendor", "other"]),
        "status": "CASE WHEN random() < 0.9 THEN 'active' ELSE 'inactive' END",
        # company_revenue_non_negative
        "annual_revenue": "round((random() * 50000000)::numeric, 2)",
        "employee_count": "1 + floor(random() * 5000)::int",
        "billing_city": city,
        "billing_country": country,
        "owner_id": ctx.owner("i"),
        "shared_with_team": "random() < 0.3",
        "custom_fields": ctx.custom(
            {
                "tier": pick(["Gold", "Silver", "Bronze"]),
                "renewal_date": "to_char(now() + random() * interval '365 days', 'YYYY-MM-DD')",
            }
        ),
        "created_at": "created",
        "updated_at": UPDATED,
    }
    return given, derived


def contacts(ctx: Context) -> Columns:
    person, first, last = ctx.person()
    city, country = _city()
    derived = {
        **person,
        "c": ctx.big.row(ctx.big.contacts, ctx.random_row(ctx.companies, 0.85)),
        "created": CREATED,
        "city": f"1 + floor(random() * {len(sql.CITIES)})::int",
    }
    local = f"lower({first} || '.' || {last})"
    given = {
        "id": row_id("contact", "i"),
        "first_name": first,
        "last_name": last,
        # Work address at the company's domain; people without one use a free mail provider.
        "email": (
            f"CASE WHEN c IS NULL THEN {local} || (i % 100) || '@' || {pick(sql.FREEMAIL)} "
            f"ELSE {local} || '@' || {ctx.domain('c')} END"
        ),
        "personal_email": (
            f"CASE WHEN random() < 0.2 THEN {local} || '@' || {pick(sql.FREEMAIL)} ELSE '' END"
        ),
        "phone": _phone(),
        "mobile_phone": f"CASE WHEN random() < 0.5 THEN {_phone()} ELSE '' END",
        "position": pick(sql.JOB_TITLES),
        "company_id": f"CASE WHEN c IS NOT NULL THEN {row_id('company', 'c')} END",
        "type": pick(["customer"] * 5 + ["prospect"] * 3 + ["partner", "vendor", "other"]),
        "is_active": "random() < 0.95",
        "city": city,
        "country": country,
        # A company's contacts belong to its owner, as the company page expects.
        "owner_id": f"CASE WHEN c IS NULL THEN {ctx.owner('i')} ELSE {ctx.owner('c')} END",
        "shared_with_team": "random() < 0.3",
        "custom_fields": ctx.custom(
            {
                "segment": pick(["SMB", "Mid-market", "Enterprise"]),
                "nps": "floor(random() * 11)::int",
                "newsletter": "random() < 0.5",
            }
        ),
        "last_activity_at": f"CASE WHEN random() < 0.6 THEN {SINCE_CREATED} END",
        "created_at": "created",
        "updated_at": UPDATED,
    }
    return given, derived


def deals(ctx: Context) -> Columns:
    # Pipelines weighted 60/25/15; the stage is drawn within the pipeline, so the composite
    # foreign key deal(stage, pipeline) -> stage(id, pipeline) always holds.
    offsets = "(ARRAY[" + ",".join(map(str, ctx.pipeline_offsets)) + "])"
    sizes = "(ARRAY[" + ",".join(map(str, ctx.pipeline_sizes)) + "])"
    weights = [0.6, 0.85][: len(ctx.pipeline_ids) - 1]
    chooser = " ".join(f"WHEN r < {w} THEN {n}" for n, w in enumerate(weights, start=1))
    # Scalar subqueries would be evaluated once per statement: draw r here, decide below.
    p = f"(CASE {chooser} ELSE {len(ctx.pipeline_ids)} END)" if weights else "1"
    derived = {
        "r": "random()",
        "c": ctx.big.row(ctx.big.deals, ctx.random_row(ctx.companies, 0.9)),
        # The big company's deals name one of its own people (contacts 1..big.contacts).
        "pc": (
            f"CASE WHEN i <= {ctx.big.deals} THEN {ctx.random_row(ctx.big.contacts)} "
            f"ELSE {ctx.random_row(ctx.contacts, 0.7)} END"
        ),
        "created": CREATED,
        "u": "random()",
    }
    stage_index = f"(1 + {offsets}[{p}] + floor(u * {sizes}[{p}])::int)"
    status = f"{sql.array(ctx.stage_status)}[{stage_index}]"
    product = pick(sql.PRODUCTS)
    given = {
        "id": row_id("deal", "i"),
        "name": (
            f"CASE WHEN c IS NULL THEN initcap({pick(ctx.vocab.words)}) "
            f"ELSE {ctx.company_name('c')} END || ' - ' || {product}"
        ),
        "company_id": f"CASE WHEN c IS NOT NULL THEN {row_id('company', 'c')} END",
        "primary_contact_id": f"CASE WHEN pc IS NOT NULL THEN {row_id('contact', 'pc')} END",
        "pipeline_id": f"{sql.uuid_array(ctx.pipeline_ids)}[{p}]",
        "stage_id": f"{sql.uuid_array(ctx.stage_ids)}[{stage_index}]",
        "status": status,
        # The status follows the stage, and closed deals say when they closed.
        "closed_at": f"CASE WHEN {status} <> 'open' THEN {SINCE_CREATED} END",
        "amount": "round((500 + random() * 199500)::numeric, 2)",  # deal_amount_non_negative
        "currency": pick(["USD"] * 6 + ["EUR"] * 3 + ["GBP"]),  # deal_currency_iso
        "expected_close_date": "(created + random() * interval '240 days')::date",
        "type_id": ctx.lookup(ctx.deal_types, 0.8),
        "campaign_id": ctx.lookup(ctx.campaigns, 0.3),
        "next_step": pick(["Send quote", "Call decision maker", "Legal review", "", ""]),
        "owner_id": f"CASE WHEN c IS NULL THEN {ctx.owner('i')} ELSE {ctx.owner('c')} END",
        "shared_with_team": "random() < 0.3",
        "custom_fields": ctx.custom(
            {
                "source": pick(["Inbound", "Outbound", "Partner", "Referral"]),
                "forecast": pick(["Pipeline", "Best case", "Commit"]),
            }
        ),
        "created_at": "created",
        "updated_at": UPDATED,
    }
    return given, derived


def leads(ctx: Context) -> Columns:
    person, first, last = ctx.person()
    statuses = (
        ["new"] * 6 + ["contacted"] * 5 + ["qualified"] * 3 + ["lost"] * 3 + ["converted"] * 3
    )
    derived = {
        **person,
        "status": pick(statuses),
        "c": ctx.big.row(ctx.big.leads, ctx.random_row(ctx.companies, 0.3)),
        "created": CREATED,
    }
    converted = "status = 'converted'"
    given = {
        "id": row_id("lead", "i"),
        "first_name": first,
        "last_name": last,
        "company_name": (
            f"CASE WHEN c IS NULL THEN initcap({pick(ctx.vocab.words)}) || ' ' || {last} "
            f"ELSE {ctx.company_name('c')} END"
        ),
        "email": f"lower({first} || '.' || {last}) || (i % 1000) || '@' || {pick(sql.FREEMAIL)}",
        "phone": _phone(),
        "job_title": pick(sql.JOB_TITLES),
        "source": pick(sql.LEAD_SOURCES),
        "status": "status",
        "campaign_id": ctx.lookup(ctx.campaigns, 0.5),
        "company_id": f"CASE WHEN c IS NOT NULL THEN {row_id('company', 'c')} END",
        # lead_converted_at_iff_converted; a converted lead points at what it became.
        "converted_at": f"CASE WHEN {converted} THEN {SINCE_CREATED} END",
        "converted_contact_id": (
            f"CASE WHEN {converted} THEN {row_id('contact', ctx.random_row(ctx.contacts))} END"
            if ctx.contacts
            else "NULL"
        ),
        "converted_deal_id": (
            f"CASE WHEN {converted} THEN {row_id('deal', ctx.random_row(ctx.deals))} END"
            if ctx.deals
            else "NULL"
        ),
        "owner_id": ctx.owner("i"),
        "shared_with_team": "random() < 0.3",
        "custom_fields": ctx.custom({"score": "floor(random() * 101)::int"}),
        "created_at": "created",
        "updated_at": UPDATED,
    }
    return given, derived


def _parents(ctx: Context, weights: dict[str, float], big: int = 0) -> dict[str, str]:
    """The four parent id columns over a derived random `r`: it picks one parent table by
    weight, whose column alone is set (none for 'none'). Empty tables get no weight. Rows
    1..big hang off the big company instead."""
    counts = {
        "company": ctx.companies,
        "contact": ctx.contacts,
        "lead": ctx.leads,
        "deal": ctx.deals,
    }
    live = {k: w for k, w in weights.items() if k == "none" or counts[k] > 0}
    total = sum(live.values())
    arms, edge = [], 0.0
    for name, weight in live.items():
        edge += weight / total
        arms.append(f"WHEN r < {edge:.6f} THEN '{name}'")
    arms[-1] = f"ELSE '{list(live)[-1]}'"
    if big > 0:
        arms.insert(0, f"WHEN i <= {big} THEN 'company'")
    kind = f"(CASE {' '.join(arms)} END)"
    rows = {table: ctx.random_row(count) for table, count in counts.items()}
    rows["company"] = ctx.big.row(big, rows["company"])
    return {
        f"{table}_id": f"CASE WHEN {kind} = '{table}' THEN {row_id(table, rows[table])} END"
        for table in counts
    }


def notes(ctx: Context) -> Columns:
    # note_exactly_one_parent: the weights have no 'none'.
    parents = _parents(
        ctx, {"contact": 0.6, "company": 0.15, "lead": 0.1, "deal": 0.15}, ctx.big.notes
    )
    body = (
        f"{pick(sql.NOTE_OPENERS)} || ' ' || {pick(ctx.vocab.first)} || ' about ' "
        f"|| {pick(sql.NOTE_TOPICS)} || '. ' || initcap({pick(ctx.vocab.words)}) || ' ' "
        f"|| {pick(ctx.vocab.words)} || ' ' || {pick(ctx.vocab.words)} || '.'"
    )
    derived = {"r": "random()", "created": CREATED}
    given = {
        "id": row_id("note", "i"),
        "body": body,
        "author_id": ctx.any_user("i"),
        **parents,
        "created_at": "created",
        "updated_at": "created",
    }
    return given, derived


def tasks(ctx: Context) -> Columns:
    # task_at_most_one_parent: one of the four, or none (a loose to-do).
    parents = _parents(
        ctx,
        {"contact": 0.4, "deal": 0.2, "company": 0.15, "lead": 0.1, "none": 0.15},
        ctx.big.tasks,
    )
    derived = {
        "r": "random()",
        "status": pick(["open"] * 5 + ["in_progress"] * 2 + ["done"] * 3),
        "created": CREATED,
        "assignee": f"1 + floor(random() * {len(ctx.owners)})::int",
    }
    owner = f"{sql.uuid_array(ctx.owners)}[assignee]"
    given = {
        "id": row_id("task", "i"),
        "title": f"{pick(sql.TASK_TITLES)} || ' - ' || {pick(ctx.vocab.last)}",
        "priority": pick(["low", "medium", "medium", "high", "critical"]),
        "status": "status",
        "due_at": "created + random() * interval '60 days'",
        # task_completed_only_when_done
        "completed_at": f"CASE WHEN status = 'done' THEN {SINCE_CREATED} END",
        "assignee_id": owner,
        "owner_id": owner,
        **parents,
        "shared_with_team": "random() < 0.3",
        "created_at": "created",
        "updated_at": UPDATED,
    }
    return given, derived
