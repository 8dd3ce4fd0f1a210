"""Admin for companies, contacts and leads: the large tables (up to millions of rows).

Search goes through the trigram-indexed `search_text` column (see CrmModelAdmin); the
`search_fields` entry only switches the search box and autocomplete on. Every relation is an
autocomplete widget, and list filters use only choices, booleans, dates and small tables.
"""

from __future__ import annotations

from django.contrib import admin

from crm.models import Company, Contact, Lead

from .base import BOOKKEEPING_FIELDSET, CustomizableRecordAdmin

RECENT_FILTERS = ("updated_at", "created_at")


@admin.register(Company)
class CompanyAdmin(CustomizableRecordAdmin):
    list_display = (
        "name",
        "domain",
        "type",
        "status",
        "industry",
        "billing_city",
        "owner",
        "updated_at",
    )
    list_filter = ("status", "type", "industry", "owner", *RECENT_FILTERS)
    list_select_related = ("industry", "owner")
    trigram_search = True
    search_fields = ("search_text",)
    search_help_text = "Name, domain, email or phone; case and accents are ignored."
    autocomplete_fields = ("industry", "parent", "owner", "watchers")
    fieldsets = (
        (None, {"fields": ("name", "type", "status", "industry", "parent", "owner")}),
        ("Contact details", {"fields": ("website", "domain", "email", "phone", "fax")}),
        (
            "Business",
            {
                "fields": (
                    "annual_revenue",
                    "employee_count",
                    "vat_number",
                    "registration_number",
                    "description",
                    "tags",
                    "watchers",
                )
            },
        ),
        (
            "Billing address",
            {
                "classes": ("collapse",),
                "fields": (
                    "billing_street",
                    "billing_city",
                    "billing_state",
                    "billing_postal_code",
                    "billing_country",
                ),
            },
        ),
        (
            "Shipping address",
            {
                "classes": ("collapse",),
                "fields": (
                    "shipping_street",
                    "shipping_city",
                    "shipping_state",
                    "shipping_postal_code",
                    "shipping_country",
                ),
            },
        ),
        BOOKKEEPING_FIELDSET,
    )


@admin.register(Contact)
class ContactAdmin(CustomizableRecordAdmin):
    list_display = (
        "full_name",
        "email",
        "company",
        "position",
        "type",
        "is_active",
        "owner",
        "updated_at",
    )
    list_filter = ("type", "is_active", "owner", *RECENT_FILTERS)
    list_select_related = ("company", "owner")
    trigram_search = True
    search_fields = ("search_text",)
    search_help_text = "Name, email or phone; case and accents are ignored."
    autocomplete_fields = ("company", "owner", "watchers")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "first_name",
                    "last_name",
                    "company",
                    "position",
                    "type",
                    "is_active",
                    "owner",
                )
            },
        ),
        (
            "Contact details",
            {
                "fields": (
                    "email",
                    "personal_email",
                    "phone",
                    "mobile_phone",
                    "website",
                    "social_profiles",
                )
            },
        ),
        (
            "Address",
            {
                "classes": ("collapse",),
                "fields": ("street", "city", "state", "postal_code", "country"),
            },
        ),
        (
            "More",
            {"fields": ("birthday", "description", "tags", "last_activity_at", "watchers")},
        ),
        BOOKKEEPING_FIELDSET,
    )

    @admin.display(description="name", ordering="last_name")
    def full_name(self, obj: Contact) -> str:
        return str(obj)


@admin.register(Lead)
class LeadAdmin(CustomizableRecordAdmin):
    list_display = (
        "full_name",
        "company_name",
        "email",
        "status",
        "source",
        "campaign",
        "owner",
        "updated_at",
    )
    list_filter = ("status", "campaign", "owner", *RECENT_FILTERS)
    list_select_related = ("campaign", "owner")
    trigram_search = True
    search_fields = ("search_text",)
    search_help_text = "Name, company name, email or phone; case and accents are ignored."
    autocomplete_fields = ("campaign", "company", "owner", "watchers")
    # Converting a lead creates and links a contact, company and deal together (a service's
    # job); editing these links by hand would leave a lead pointing at records it never made.
    readonly_fields = ("converted_at", "converted_contact", "converted_deal")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "first_name",
                    "last_name",
                    "company_name",
                    "job_title",
                    "status",
                    "owner",
                )
            },
        ),
        ("Contact details", {"fields": ("email", "phone")}),
        ("Origin", {"fields": ("source", "campaign", "referred_by", "company")}),
        ("More", {"fields": ("description", "tags", "watchers")}),
        (
            "Conversion",
            {
                "classes": ("collapse",),
                "fields": ("converted_at", "converted_contact", "converted_deal"),
            },
        ),
        BOOKKEEPING_FIELDSET,
    )

    @admin.display(description="name", ordering="last_name")
    def full_name(self, obj: Lead) -> str:
        return str(obj)
