"""`manage.py seed_demo`: a realistic small CRM to look at and click through.

Two teams with a manager and two sales reps each, a demo admin, lookups, the default pipeline,
companies with contacts, leads, deals spread over the stages, contracts, invoices, notes, tasks,
a project board and documents. Built with the same factory-boy factories the tests use.
Running it again adds another batch of records (users, lookups and the pipeline are reused).
"""

from __future__ import annotations

import random
from typing import Any

import factory.random
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from accounts.factories import TeamFactory
from accounts.models import User
from crm import factories as f
from crm.models import Company, Deal, Lead, Pipeline, Stage, Task
from crm.services.pipelines import pipeline_ensure_default

DEMO_ADMIN_EMAIL = "admin@minicrm.local"
DEMO_PASSWORD = "minicrm-demo"  # noqa: S105 - printed on purpose: a local demo login

# (email, name, role, team)
DEMO_USERS = [
    ("maria.north@minicrm.local", "Maria Novak", User.Role.MANAGER, "North"),
    ("sam.north@minicrm.local", "Sam Okafor", User.Role.SALES, "North"),
    ("lena.north@minicrm.local", "Lena Berg", User.Role.SALES, "North"),
    ("david.south@minicrm.local", "David Reyes", User.Role.MANAGER, "South"),
    ("aiko.south@minicrm.local", "Aiko Tanaka", User.Role.SALES, "South"),
    ("tom.south@minicrm.local", "Tom Keller", User.Role.SALES, "South"),
]


class Command(BaseCommand):
    help = "Fill the database with a realistic small CRM for demos and development."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--companies", type=int, default=50)
        parser.add_argument("--contacts", type=int, default=200)
        parser.add_argument("--leads", type=int, default=60)
        parser.add_argument("--deals", type=int, default=80)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already holds companies (what `make run` uses).",
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for repeats.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "seed_demo creates known demo passwords; it refuses to run in production."
            )
        for name in ("companies", "contacts", "leads", "deals"):
            if options[name] < 0:
                raise CommandError(f"--{name} must be zero or more.")
        if options["if_empty"] and Company.objects.exists():
            self.stdout.write("Demo data: the database already has data; nothing loaded.")
            self._print_login()
            return
        if options["seed"] is not None:
            random.seed(options["seed"])
            factory.random.reseed_random(options["seed"])

        with transaction.atomic():
            users = self._users()
            counts = self._records(users, options)
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data loaded: " + ", ".join(f"{n} {what}" for what, n in counts.items())
            )
        )
        self._print_login()

    def _print_login(self) -> None:
        if User.objects.filter(email=DEMO_ADMIN_EMAIL).exists():
            self.stdout.write(
                f"Demo admin: {DEMO_ADMIN_EMAIL} / {DEMO_PASSWORD}  "
                f"(sales reps: e.g. sam.north@minicrm.local, same password)"
            )

    def _users(self) -> list[User]:
        admin = User.objects.filter(email=DEMO_ADMIN_EMAIL).first()
        if admin is None:
            User.objects.create_superuser(DEMO_ADMIN_EMAIL, DEMO_PASSWORD, name="Demo Admin")
        users = []
        for email, name, role, team_name in DEMO_USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email, DEMO_PASSWORD, name=name, role=role, team=TeamFactory(name=team_name)
                )
            users.append(user)
        return users

    def _records(self, users: list[User], options: dict[str, Any]) -> dict[str, int]:
        industries = [f.IndustryFactory() for _ in range(5)]
        deal_types = [f.DealTypeFactory() for _ in range(4)]
        campaigns = [f.CampaignFactory() for _ in range(4)]
        doc_types = [f.DocumentTypeFactory() for _ in range(3)]
        pipeline: Pipeline = pipeline_ensure_default()
        stages: list[Stage] = list(pipeline.stages.order_by("position"))

        companies = [
            f.CompanyFactory(
                owner=random.choice(users),
                industry=random.choice(industries),
                type=random.choice(["customer", "customer", "prospect", "partner"]),
            )
            for _ in range(options["companies"])
        ]
        contacts = [
            f.ContactFactory(
                owner=(company.owner if company else random.choice(users)),
                company=company,
            )
            for company in (
                random.choice(companies) if companies else None for _ in range(options["contacts"])
            )
        ]
        leads = [
            f.LeadFactory(
                owner=random.choice(users),
                status=random.choice([s for s in Lead.Status.values if s != "converted"]),
                campaign=random.choice(campaigns),
            )
            for _ in range(options["leads"])
        ]
        deals = []
        for _ in range(options["deals"] if companies else 0):
            company = random.choice(companies)
            stage = random.choice(stages)
            status = "won" if stage.is_won else "lost" if stage.is_lost else "open"
            deal = f.DealFactory(
                owner=company.owner,
                company=company,
                pipeline=pipeline,
                stage=stage,
                status=status,
                closed_at=timezone.now() if status != Deal.Status.OPEN else None,
                type=random.choice(deal_types),
                campaign=random.choice(campaigns),
                primary_contact=None,
            )
            people = [c for c in contacts if c.company_id == company.pk][:3]
            if people:
                deal.primary_contact = people[0]
                deal.save(update_fields=["primary_contact"])
                deal.contacts.add(*people)
            deals.append(deal)

        contracts = (
            [
                f.ContractFactory(
                    owner=c.owner, company=c, status=random.choice(["signed", "in_progress"])
                )
                for c in companies[: max(1, len(companies) // 5)]
            ]
            if companies
            else []
        )
        invoices = [f.InvoiceFactory(owner=c.owner, company=c) for c in companies[:10]]

        notes = 0
        for record in [*companies[:30], *contacts[:60], *deals[:40]]:
            field = type(record).__name__.lower()
            f.NoteFactory(author=record.owner, **{"company": None, field: record})
            notes += 1
        tasks = 0
        for record in [*companies[:20], *deals[:30], *leads[:15]]:
            field = type(record).__name__.lower()
            f.TaskFactory(
                owner=record.owner,
                assignee=record.owner,
                status=random.choice(
                    [Task.Status.OPEN, Task.Status.OPEN, Task.Status.IN_PROGRESS]
                ),
                **{field: record},
            )
            tasks += 1

        board = f.BoardFactory(owner=users[0], title="Website relaunch")
        for position, title in enumerate(["Backlog", "In progress", "Done"]):
            section = f.SectionFactory(board=board, title=title, position=position)
            for card in range(3):
                f.TaskFactory(owner=users[0], section=section, position=card)
                tasks += 1

        documents = []
        for deal in deals[:10]:
            doc = f.DocumentFactory(
                owner=deal.owner, name=f"Proposal - {deal.name}.pdf", document_type=doc_types[0]
            )
            doc.deals.add(deal)
            if deal.company_id:
                doc.companies.add(deal.company_id)
            documents.append(doc)

        return {
            "companies": len(companies),
            "contacts": len(contacts),
            "leads": len(leads),
            "deals": len(deals),
            "contracts": len(contracts),
            "invoices": len(invoices),
            "notes": notes,
            "tasks": tasks,
            "documents": len(documents),
        }
