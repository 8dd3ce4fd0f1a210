"""Create / edit forms of the people and organisations: companies, contacts, leads."""

from __future__ import annotations

from crm.forms.records import RecordForm, RecordMeta, TagsField, fields_of
from crm.models import Campaign, Company, Contact, Industry, Lead

OWNERSHIP = ("Ownership", ["owner", "shared_with_team"])

COMPANY_FIELDSETS = [
    ("Company", ["name", "type", "status", "website", "domain", "email", "phone", "fax"]),
    (
        "Billing address",
        ["billing_street", "billing_city", "billing_postal_code", "billing_state",
         "billing_country"],
    ),
    (
        "Shipping address",
        ["shipping_street", "shipping_city", "shipping_postal_code", "shipping_state",
         "shipping_country"],
    ),
    (
        "Details",
        ["industry", "parent", "annual_revenue", "employee_count", "vat_number",
         "registration_number", "description", "tags"],
    ),
    OWNERSHIP,
]  # fmt: skip

CONTACT_FIELDSETS = [
    (
        "Contact",
        ["first_name", "last_name", "company", "position", "email", "phone", "mobile_phone",
         "personal_email"],
    ),
    ("Address", ["street", "city", "postal_code", "state", "country"]),
    ("Details", ["type", "is_active", "birthday", "website", "description", "tags"]),
    OWNERSHIP,
]  # fmt: skip

LEAD_FIELDSETS = [
    ("Lead", ["first_name", "last_name", "company_name", "job_title", "email", "phone", "status"]),
    ("Details", ["company", "source", "campaign", "referred_by", "description", "tags"]),
    OWNERSHIP,
]


class CompanyForm(RecordForm):
    tags = TagsField()
    fieldsets = COMPANY_FIELDSETS
    linked = {"parent": "view"}

    class Meta(RecordMeta):
        model = Company
        fields = fields_of(COMPANY_FIELDSETS)

    def setup_choices(self) -> None:
        self.limit_lookup("industry", Industry.objects.all())
        if "parent" in self.fields and self.instance.pk:
            # A company is not its own parent (company_not_own_parent).
            parent = self.fields["parent"]
            parent.queryset = parent.queryset.exclude(pk=self.instance.pk)


class ContactForm(RecordForm):
    tags = TagsField()
    fieldsets = CONTACT_FIELDSETS
    linked = {"company": "view"}

    class Meta(RecordMeta):
        model = Contact
        fields = fields_of(CONTACT_FIELDSETS)


class LeadForm(RecordForm):
    tags = TagsField()
    fieldsets = LEAD_FIELDSETS
    linked = {"company": "view"}

    class Meta(RecordMeta):
        model = Lead
        fields = fields_of(LEAD_FIELDSETS)

    def setup_choices(self) -> None:
        self.limit_lookup("campaign", Campaign.objects.all())
        status = self.fields.get("status")
        if status is None:
            return
        if self.instance.status == Lead.Status.CONVERTED:
            # Converted is a state the conversion sets, with its date and the records it made
            # (lead_converted_at_iff_converted); picking another status does not undo it.
            status.disabled = True
            status.help_text = "Set by converting the lead."
        else:
            status.choices = [c for c in status.choices if c[0] != Lead.Status.CONVERTED]
