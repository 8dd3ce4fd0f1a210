"""factory-boy factories for the CRM; used by tests and by `manage.py seed_demo`.

Values are realistic enough for search and demos (Faker names, company domains, phones).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.factories import UserFactory
from crm import models


def _domain(name: str) -> str:
    slug = "".join(ch for ch in name.lower() if ch.isalnum())[:24] or "company"
    return f"{slug}.example"


class IndustryFactory(DjangoModelFactory):
    class Meta:
        model = models.Industry
        django_get_or_create = ("name",)

    name = factory.Iterator(["Software", "Manufacturing", "Retail", "Healthcare", "Finance"])


class DealTypeFactory(DjangoModelFactory):
    class Meta:
        model = models.DealType
        django_get_or_create = ("name",)

    name = factory.Iterator(["New business", "Upsell", "Cross-sell", "Renewal"])


class CampaignFactory(DjangoModelFactory):
    class Meta:
        model = models.Campaign
        django_get_or_create = ("name",)

    name = factory.Iterator(["Cold calls", "Social networks", "Trade fair", "Newsletter"])


class DocumentTypeFactory(DjangoModelFactory):
    class Meta:
        model = models.DocumentType
        django_get_or_create = ("name",)

    name = factory.Iterator(["Proposal", "Specification", "Presentation"])


class PipelineFactory(DjangoModelFactory):
    class Meta:
        model = models.Pipeline
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Pipeline {n}")


class StageFactory(DjangoModelFactory):
    class Meta:
        model = models.Stage

    pipeline = factory.SubFactory(PipelineFactory)
    name = factory.Sequence(lambda n: f"Stage {n}")
    position = factory.Sequence(lambda n: n)
    probability = 20


class CompanyFactory(DjangoModelFactory):
    class Meta:
        model = models.Company

    name = factory.Faker("company")
    domain = factory.LazyAttribute(lambda o: _domain(o.name))
    website = factory.LazyAttribute(lambda o: f"https://www.{o.domain}")
    email = factory.LazyAttribute(lambda o: f"info@{o.domain}")
    phone = factory.Faker("phone_number")
    billing_city = factory.Faker("city")
    billing_country = factory.Faker("country")
    annual_revenue = factory.LazyFunction(lambda: Decimal(random.randrange(100, 50_000)) * 1000)
    employee_count = factory.LazyFunction(lambda: random.randrange(2, 5000))
    owner = factory.SubFactory(UserFactory)


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = models.Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttributeSequence(
        lambda o, n: f"{o.first_name}.{o.last_name}.{n}@example.com".lower().replace(" ", "")
    )
    phone = factory.Faker("phone_number")
    position = factory.Faker("job")
    company = factory.SubFactory(CompanyFactory, owner=factory.SelfAttribute("..owner"))
    owner = factory.SubFactory(UserFactory)


class LeadFactory(DjangoModelFactory):
    class Meta:
        model = models.Lead

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company_name = factory.Faker("company")
    email = factory.LazyAttributeSequence(
        lambda o, n: f"{o.first_name}.{o.last_name}.lead{n}@example.com".lower().replace(" ", "")
    )
    phone = factory.Faker("phone_number")
    job_title = factory.Faker("job")
    source = factory.Iterator(["Web form", "Referral", "Trade fair", "Cold call"])
    owner = factory.SubFactory(UserFactory)


class DealFactory(DjangoModelFactory):
    class Meta:
        model = models.Deal

    name = factory.LazyAttribute(lambda o: f"{o.company.name if o.company else 'New'} deal")
    company = factory.SubFactory(CompanyFactory, owner=factory.SelfAttribute("..owner"))
    pipeline = factory.SubFactory(PipelineFactory)
    stage = factory.LazyAttribute(lambda o: StageFactory(pipeline=o.pipeline))
    amount = factory.LazyFunction(lambda: Decimal(random.randrange(1, 500)) * 1000)
    currency = "USD"
    expected_close_date = factory.LazyFunction(
        lambda: timezone.localdate() + dt.timedelta(days=random.randrange(-20, 120))
    )
    owner = factory.SubFactory(UserFactory)


class ContractFactory(DjangoModelFactory):
    class Meta:
        model = models.Contract

    title = factory.LazyAttribute(lambda o: f"Service agreement {o.company.name}")
    company = factory.SubFactory(CompanyFactory, owner=factory.SelfAttribute("..owner"))
    value = factory.LazyFunction(lambda: Decimal(random.randrange(5, 300)) * 1000)
    currency = "USD"
    start_date = factory.LazyFunction(timezone.localdate)
    end_date = factory.LazyAttribute(lambda o: o.start_date + dt.timedelta(days=365))
    owner = factory.SubFactory(UserFactory)


class InvoiceFactory(DjangoModelFactory):
    class Meta:
        model = models.Invoice

    number = factory.Sequence(lambda n: f"INV-{n:06d}")
    company = factory.SubFactory(CompanyFactory, owner=factory.SelfAttribute("..owner"))
    issue_date = factory.LazyFunction(timezone.localdate)
    due_date = factory.LazyAttribute(lambda o: o.issue_date + dt.timedelta(days=30))
    amount = factory.LazyFunction(lambda: Decimal(random.randrange(100, 20_000)))
    currency = "USD"
    line_items = factory.LazyAttribute(
        lambda o: [{"description": "Services", "quantity": 1, "unit_price": str(o.amount)}]
    )
    owner = factory.SubFactory(UserFactory)


class BoardFactory(DjangoModelFactory):
    class Meta:
        model = models.Board

    title = factory.Sequence(lambda n: f"Project {n}")
    owner = factory.SubFactory(UserFactory)


class SectionFactory(DjangoModelFactory):
    class Meta:
        model = models.Section

    board = factory.SubFactory(BoardFactory)
    title = factory.Iterator(["Backlog", "Doing", "Done"])
    position = factory.Sequence(lambda n: n)


class TaskFactory(DjangoModelFactory):
    class Meta:
        model = models.Task

    title = factory.Faker("sentence", nb_words=5)
    body = factory.Faker("paragraph")
    due_at = factory.LazyFunction(
        lambda: timezone.now() + dt.timedelta(days=random.randrange(-5, 20))
    )
    owner = factory.SubFactory(UserFactory)
    assignee = factory.SelfAttribute("owner")


class TaskCommentFactory(DjangoModelFactory):
    class Meta:
        model = models.TaskComment

    task = factory.SubFactory(TaskFactory)
    author = factory.SelfAttribute("task.owner")
    body = factory.Faker("sentence")


class NoteFactory(DjangoModelFactory):
    class Meta:
        model = models.Note

    body = factory.Faker("paragraph")
    author = factory.SubFactory(UserFactory)
    company = factory.SubFactory(CompanyFactory, owner=factory.SelfAttribute("..author"))


class DocumentFactory(DjangoModelFactory):
    class Meta:
        model = models.Document

    name = factory.Sequence(lambda n: f"Proposal {n}.pdf")
    url = factory.Sequence(lambda n: f"https://files.example/docs/{n}.pdf")
    mime_type = "application/pdf"
    size = 120_000
    owner = factory.SubFactory(UserFactory)


class CustomFieldDefinitionFactory(DjangoModelFactory):
    class Meta:
        model = models.CustomFieldDefinition

    entity = models.CustomFieldDefinition.Entity.CONTACT
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.Sequence(lambda n: f"Field {n}")
    field_type = models.CustomFieldDefinition.FieldType.TEXT


class SavedViewFactory(DjangoModelFactory):
    class Meta:
        model = models.SavedView

    owner = factory.SubFactory(UserFactory)
    entity = "contact"
    name = factory.Sequence(lambda n: f"View {n}")
    query = "status=active&sort=-updated"


# The factory of each entity with pages, by its key in crm.entities.ENTITIES: what tests that
# run over every list, form or export iterate.
BY_ENTITY = {
    "company": CompanyFactory,
    "contact": ContactFactory,
    "lead": LeadFactory,
    "deal": DealFactory,
    "contract": ContractFactory,
    "task": TaskFactory,
    "document": DocumentFactory,
}
