"""The people and organisations a sales team works with: companies, contacts, leads."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F
from django.db.models.functions import Upper

from crm.search import SearchText, SimpleTsVector, name_starts_index

from .base import CustomizableRecord, HasDetailPage, json_type_check, non_negative
from .lookups import Campaign, Industry
from .search_words import search_word_triggers


def tags_field() -> ArrayField:
    return ArrayField(models.CharField(max_length=60), default=list, blank=True)


def search_indexes(prefix: str) -> list[models.Index]:
    return [
        # Fuzzy search, typos included: search_text %> 'jonh smiht' (pg_trgm word similarity).
        GinIndex(OpClass(F("search_text"), name="gin_trgm_ops"), name=f"{prefix}_search_trgm"),
        # Full-text search: to_tsvector('simple', search_text) @@ query.
        GinIndex(SimpleTsVector(F("search_text")), name=f"{prefix}_search_fts"),
    ]


class Company(HasDetailPage, CustomizableRecord):
    CUSTOM_FIELDS_ENTITY = "company"

    class Type(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        PROSPECT = "prospect", "Prospect"
        PARTNER = "partner", "Partner"
        VENDOR = "vendor", "Vendor"
        COMPETITOR = "competitor", "Competitor"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    name = models.CharField(max_length=255)
    website = models.URLField(max_length=500, blank=True)
    domain = models.CharField(max_length=255, blank=True, help_text="e.g. example.com")
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    fax = models.CharField(max_length=64, blank=True)
    industry = models.ForeignKey(
        Industry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="companies",
        db_index=False,
    )
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.CUSTOMER)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    annual_revenue = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    vat_number = models.CharField("VAT number", max_length=64, blank=True)
    registration_number = models.CharField(max_length=64, blank=True)
    billing_street = models.CharField(max_length=255, blank=True)
    billing_city = models.CharField(max_length=120, blank=True)
    billing_state = models.CharField(max_length=120, blank=True)
    billing_postal_code = models.CharField(max_length=32, blank=True)
    billing_country = models.CharField(max_length=120, blank=True)
    shipping_street = models.CharField(max_length=255, blank=True)
    shipping_city = models.CharField(max_length=120, blank=True)
    shipping_state = models.CharField(max_length=120, blank=True)
    shipping_postal_code = models.CharField(max_length=32, blank=True)
    shipping_country = models.CharField(max_length=120, blank=True)
    description = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subsidiaries",
        db_index=False,
    )
    tags = tags_field()
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="watched_companies"
    )
    search_text = models.GeneratedField(
        expression=SearchText("name", "domain", "email", "phone"),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta(CustomizableRecord.Meta):
        # The search dictionary (crm.models.search_words) follows every write.
        triggers = [*CustomizableRecord.Meta.triggers, *search_word_triggers]
        verbose_name_plural = "companies"
        indexes = [
            *CustomizableRecord.Meta.indexes,
            *search_indexes("company"),
            # Sort and exact/prefix lookups by name (list sort, CSV import match on name).
            models.Index(fields=["name"], name="company_name_idx"),
            # CSV import: match and resolve companies by domain or name in any letter case
            # (UPPER(domain) IN (...), the form Django's iexact and crm/imports use).
            models.Index(Upper("domain"), name="company_domain_upper_idx"),
            models.Index(Upper("name"), name="company_name_upper_idx"),
            # List filters by status / type, newest change first within them.
            models.Index(F("status"), F("updated_at").desc(), name="company_status_upd_idx"),
            models.Index(F("type"), F("updated_at").desc(), name="company_type_upd_idx"),
            # FK lookups: companies of an industry, subsidiaries of a parent.
            models.Index(fields=["industry"], name="company_industry_idx"),
            models.Index(fields=["parent"], name="company_parent_idx"),
            # Tag filter: tags @> ARRAY['x'].
            GinIndex(fields=["tags"], name="company_tags_gin"),
        ]
        constraints = [
            *CustomizableRecord.Meta.constraints,
            non_negative("annual_revenue", "company_revenue_non_negative"),
            models.CheckConstraint(
                condition=~models.Q(parent=F("id")), name="company_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(HasDetailPage, CustomizableRecord):
    CUSTOM_FIELDS_ENTITY = "contact"

    class Type(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        PROSPECT = "prospect", "Prospect"
        PARTNER = "partner", "Partner"
        VENDOR = "vendor", "Vendor"
        OTHER = "other", "Other"

    first_name = models.CharField(max_length=120, blank=True)
    last_name = models.CharField(max_length=120)
    email = models.EmailField(max_length=254, blank=True)
    personal_email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField("office phone", max_length=64, blank=True)
    mobile_phone = models.CharField(max_length=64, blank=True)
    position = models.CharField("job title", max_length=160, blank=True)
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        db_index=False,
    )
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.CUSTOMER)
    is_active = models.BooleanField(default=True)
    birthday = models.DateField(null=True, blank=True)
    website = models.URLField(max_length=500, blank=True)
    # {"linkedin": url, "twitter": handle, ...}: shown, never filtered on.
    social_profiles = models.JSONField(default=dict, blank=True)
    street = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=120, blank=True)
    state = models.CharField(max_length=120, blank=True)
    postal_code = models.CharField(max_length=32, blank=True)
    country = models.CharField(max_length=120, blank=True)
    description = models.TextField(blank=True)
    tags = tags_field()
    last_activity_at = models.DateTimeField(null=True, blank=True)
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="watched_contacts"
    )
    search_text = models.GeneratedField(
        expression=SearchText(
            "first_name", "last_name", "email", "personal_email", "phone", "mobile_phone"
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta(CustomizableRecord.Meta):
        # The search dictionary (crm.models.search_words) follows every write.
        triggers = [*CustomizableRecord.Meta.triggers, *search_word_triggers]
        indexes = [
            *CustomizableRecord.Meta.indexes,
            *search_indexes("contact"),
            # Sort by name, and "contacts named X".
            models.Index(fields=["last_name", "first_name"], name="contact_name_idx"),
            # Global search for one word, "joh": contacts whose first or last name starts
            # with it, read in name order until the search has its candidates, before the
            # full-text index's prefix expansion, which reads every match ('joh':* 12,000 at
            # 1M contacts, 'mar':* 44,000: 7 and 21 ms) (crm.selectors.search).
            name_starts_index("first_name", "contact_first_starts_idx"),
            name_starts_index("last_name", "contact_last_starts_idx"),
            # CSV import matches contacts on email in any letter case: UPPER(email) IN (...).
            models.Index(Upper("email"), name="contact_email_upper_idx"),
            # Company page: the Contacts panel, a company's contacts by name (its first rows
            # read in index order, however many contacts the company has); and every
            # "contacts of a company" lookup by its leading column.
            models.Index(
                fields=["company", "last_name", "first_name"], name="contact_company_idx"
            ),
            models.Index(F("type"), F("updated_at").desc(), name="contact_type_upd_idx"),
            GinIndex(fields=["tags"], name="contact_tags_gin"),
        ]
        constraints = [
            *CustomizableRecord.Meta.constraints,
            json_type_check("social_profiles", "object", "contact_social_is_object"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Lead(HasDetailPage, CustomizableRecord):
    CUSTOM_FIELDS_ENTITY = "lead"

    class Status(models.TextChoices):
        NEW = "new", "New"
        CONTACTED = "contacted", "Contacted"
        QUALIFIED = "qualified", "Qualified"
        LOST = "lost", "Lost"
        CONVERTED = "converted", "Converted"

    first_name = models.CharField(max_length=120, blank=True)
    last_name = models.CharField(max_length=120)
    company_name = models.CharField(max_length=255, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    job_title = models.CharField(max_length=160, blank=True)
    source = models.CharField(max_length=100, blank=True, help_text="Web form, referral, event...")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        db_index=False,
    )
    referred_by = models.CharField(max_length=255, blank=True)
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        db_index=False,
    )
    description = models.TextField(blank=True)
    tags = tags_field()
    # Set by lead conversion: what this lead became.
    converted_at = models.DateTimeField(null=True, blank=True)
    converted_contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="source_leads",
        db_index=False,
    )
    converted_deal = models.ForeignKey(
        "crm.Deal",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="source_leads",
        db_index=False,
    )
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="watched_leads"
    )
    search_text = models.GeneratedField(
        expression=SearchText("first_name", "last_name", "company_name", "email", "phone"),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta(CustomizableRecord.Meta):
        # The search dictionary (crm.models.search_words) follows every write.
        triggers = [*CustomizableRecord.Meta.triggers, *search_word_triggers]
        indexes = [
            *CustomizableRecord.Meta.indexes,
            *search_indexes("lead"),
            # Lead list filtered by status, newest change first (the default lead view).
            models.Index(F("status"), F("updated_at").desc(), name="lead_status_upd_idx"),
            # CSV import matches leads on email in any letter case: UPPER(email) IN (...).
            models.Index(Upper("email"), name="lead_email_upper_idx"),
            # Global search for one word: as contact_first_starts_idx.
            name_starts_index("first_name", "lead_first_starts_idx"),
            name_starts_index("last_name", "lead_last_starts_idx"),
            models.Index(fields=["campaign"], name="lead_campaign_idx"),
            # Company page: the Leads panel, newest first; and every lookup by company.
            models.Index(fields=["company", "-created_at"], name="lead_company_idx"),
            models.Index(fields=["converted_contact"], name="lead_conv_contact_idx"),
            models.Index(fields=["converted_deal"], name="lead_conv_deal_idx"),
            GinIndex(fields=["tags"], name="lead_tags_gin"),
        ]
        constraints = [
            *CustomizableRecord.Meta.constraints,
            # A converted lead records when; only converted leads do.
            models.CheckConstraint(
                condition=models.Q(status="converted", converted_at__isnull=False)
                | (~models.Q(status="converted") & models.Q(converted_at__isnull=True)),
                name="lead_converted_at_iff_converted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
