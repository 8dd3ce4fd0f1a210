"""The scale dataset's small reference rows, made through the ORM before the bulk load:
users and teams, lookups, pipelines and custom field definitions (a few dozen rows, audited row
by row like any write), and the Context that the bulk tables' SQL is generated from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.hashers import make_password

from . import sql
from .context import BigCompany, Context

if TYPE_CHECKING:
    from .seed import Plan

SCALE_DOMAIN = "scale.minicrm.local"
SCALE_PASSWORD = "minicrm-scale"  # noqa: S105 - printed on purpose: a local benchmark login
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


def users(vocab: sql.Vocabulary) -> tuple[Any, list[Any], list[Any]]:
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
    from crm.models import Campaign, DealType, DocumentType, Industry

    made: dict[str, list[str]] = {}
    for key, model, names in (
        ("industries", Industry, sql.INDUSTRIES),
        ("deal_types", DealType, ["New business", "Upsell", "Renewal", "Cross-sell"]),
        ("campaigns", Campaign, ["Spring webinar", "Trade fair", "Newsletter", "Partner day"]),
        ("document_types", DocumentType, sql.DOCUMENT_TYPES),
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


def custom_fields() -> None:
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


def context(plan: Plan, vocab: sql.Vocabulary, managers: list, reps: list) -> Context:
    """Everything the generated SQL needs to know about the rows made here, and the counts."""
    stage_ids, stage_status, pipeline_ids, offsets, sizes = [], [], [], [], []
    for pipeline in _pipelines():
        stages = list(pipeline.stages.order_by("position"))
        pipeline_ids.append(str(pipeline.pk))
        offsets.append(len(stage_ids))
        sizes.append(len(stages))
        stage_ids += [str(s.pk) for s in stages]
        stage_status += ["won" if s.is_won else "lost" if s.is_lost else "open" for s in stages]
    # A team's members, its manager first: boards, their owners and their cards' people.
    teams = {
        name: [str(manager.pk)] + [str(r.pk) for r in reps if r.team_id == manager.team_id]
        for name, manager in zip(TEAMS, managers, strict=True)
    }
    sizes_by_table = {
        "contacts": plan.contacts,
        "deals": plan.deals,
        "leads": plan.leads,
        "notes": plan.notes,
        "tasks": plan.tasks,
        "contracts": plan.contracts,
        "documents": plan.documents,
    }
    return Context(
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
        contracts=plan.contracts,
        documents=plan.documents,
        teams=teams,
        big=BigCompany.sized(plan.big_company, sizes_by_table),
        **_lookups(),
    )
