"""The list specs of the seven entities with list pages (keys as in crm/entities.py)."""

from __future__ import annotations

from crm import models as m
from crm.lists.filters import (
    BooleanFilter,
    ChoiceFilter,
    DateRangeFilter,
    Filter,
    LookupFilter,
    SearchFilter,
    TagFilter,
    TextEqualsFilter,
    UserFilter,
)
from crm.lists.parents import PARENT_FILTERS
from crm.lists.spec import (
    ADD_TAG,
    ASSIGN_OWNER,
    DELETE,
    SET_STAGE,
    SET_STATUS,
    Column,
    ListSpec,
)

OWNER = Column("owner", "Owner", "owner", kind="user", sort="owner")
UPDATED = Column("updated", "Updated", "updated_at", kind="datetime", sort="updated")
CREATED = Column("created", "Created", "created_at", kind="datetime", sort="created")
# No list sorts by a related CRM record's name (a contact's company): the order, and the
# keyset cursor carrying the last row's value, would give away names of records the user may
# not see; such a sort has no index either. Users are not records: sorting by owner is fine.
BASE_SORTS = {"owner": "owner__name", "updated": "updated_at", "created": "created_at"}
OWNER_ONLY = ("owner_id", "owner__name", "owner__email", "updated_at", "created_at")


def _search(*fields: str) -> SearchFilter:
    return SearchFilter(name="q", label="Search", fields=fields)


def _common(*, tags: bool = True) -> tuple[Filter, ...]:
    """Owner, tags and the created / updated ranges every entity filters by."""
    tail: list[Filter] = [
        DateRangeFilter(name="created", label="Created", field="created_at", advanced=True),
        DateRangeFilter(name="updated", label="Updated", field="updated_at", advanced=True),
    ]
    if tags:
        tail.insert(0, TagFilter(name="tag", label="Tags"))
    return (UserFilter(name="owner", label="Owner", field="owner"), *tail)


def _choices(model: type, name: str = "status") -> tuple[tuple[str, str], ...]:
    return tuple(model._meta.get_field(name).choices)


COMPANY = ListSpec(
    key="company",
    model=m.Company,
    columns=(
        Column("name", "Name", "name", kind="link", sort="name"),
        Column("type", "Type", "type", kind="badge", sort="type"),
        Column("status", "Status", "status", kind="badge", sort="status"),
        Column("industry", "Industry", "industry.name", sort="industry"),
        Column("city", "City", "billing_city", sort="city"),
        Column("country", "Country", "billing_country", sort="country"),
        OWNER,
        UPDATED,
    ),
    sorts={
        "name": "name",
        "type": "type",
        "status": "status",
        "industry": "industry__name",
        "city": "billing_city",
        "country": "billing_country",
        **BASE_SORTS,
    },
    default_sort="-updated",
    filters=(
        _search("search_text"),
        ChoiceFilter(name="type", label="Type", field="type", choices=_choices(m.Company, "type")),
        ChoiceFilter(name="status", label="Status", field="status", choices=_choices(m.Company)),
        LookupFilter(name="industry", label="Industry", field="industry", model=m.Industry),
        *_common(),
    ),
    select_related=("owner", "industry"),
    only=(
        "name",
        "type",
        "status",
        "billing_city",
        "billing_country",
        "tags",
        "industry_id",
        "industry__name",
        *OWNER_ONLY,
    ),
    bulk_actions=(ASSIGN_OWNER, SET_STATUS, ADD_TAG, DELETE),
)

CONTACT = ListSpec(
    key="contact",
    model=m.Contact,
    columns=(
        Column("name", "Name", "", kind="link", sort="name"),
        Column("company", "Company", "company.name"),
        Column("email", "Email", "email", kind="email", sort="email"),
        Column("phone", "Phone", "phone"),
        OWNER,
        UPDATED,
    ),
    sorts={"name": "last_name", "email": "email", **BASE_SORTS},
    default_sort="-updated",
    filters=(
        _search("search_text"),
        ChoiceFilter(name="type", label="Type", field="type", choices=_choices(m.Contact, "type")),
        BooleanFilter(name="active", label="Active", field="is_active"),
        *_common(),
        *PARENT_FILTERS["contact"],
    ),
    select_related=("owner", "company"),
    only=(
        "first_name",
        "last_name",
        "email",
        "phone",
        "tags",
        "company_id",
        "company__name",
        *OWNER_ONLY,
    ),
    bulk_actions=(ASSIGN_OWNER, ADD_TAG, DELETE),
)

LEAD = ListSpec(
    key="lead",
    model=m.Lead,
    columns=(
        Column("name", "Name", "", kind="link", sort="name"),
        Column("company", "Company", "company_name", sort="company"),
        Column("status", "Status", "status", kind="badge", sort="status"),
        Column("source", "Source", "source", sort="source"),
        OWNER,
        CREATED,
    ),
    sorts={
        "name": "last_name",
        "company": "company_name",
        "status": "status",
        "source": "source",
        **BASE_SORTS,
    },
    default_sort="-updated",
    filters=(
        _search("search_text"),
        ChoiceFilter(name="status", label="Status", field="status", choices=_choices(m.Lead)),
        TextEqualsFilter(name="source", label="Source", field="source"),
        *_common(),
        *PARENT_FILTERS["lead"],
    ),
    select_related=("owner",),
    only=("first_name", "last_name", "company_name", "status", "source", "tags", *OWNER_ONLY),
    bulk_actions=(ASSIGN_OWNER, SET_STATUS, ADD_TAG, DELETE),
    # Conversion is its own action (it creates a contact and a deal); a converted lead keeps
    # its status, which the lead_converted_at_iff_converted constraint ties to converted_at.
    bulk_statuses=tuple(c for c in _choices(m.Lead) if c[0] != m.Lead.Status.CONVERTED),
)

DEAL = ListSpec(
    key="deal",
    model=m.Deal,
    columns=(
        Column("name", "Name", "name", kind="link", sort="name"),
        Column("company", "Company", "company.name"),
        Column("stage", "Stage", "stage.name", sort="stage"),
        Column(
            "amount",
            "Amount",
            "amount",
            kind="money",
            sort="amount",
            currency_attr="currency",
            numeric=True,
        ),
        Column("close", "Expected close", "expected_close_date", kind="date", sort="close"),
        OWNER,
        Column("status", "Status", "status", kind="badge", sort="status"),
    ),
    sorts={
        "name": "name",
        "stage": "stage__position",
        "amount": "amount",
        "close": "expected_close_date",
        "status": "status",
        **BASE_SORTS,
    },
    default_sort="-updated",
    filters=(
        _search("search_text"),
        ChoiceFilter(name="status", label="Status", field="status", choices=_choices(m.Deal)),
        LookupFilter(name="pipeline", label="Pipeline", field="pipeline", model=m.Pipeline),
        LookupFilter(
            name="stage", label="Stage", field="stage", model=m.Stage, related=("pipeline",)
        ),
        LookupFilter(name="type", label="Type", field="type", model=m.DealType),
        DateRangeFilter(
            name="close",
            label="Closing",
            field="expected_close_date",
            is_datetime=False,
            advanced=True,
        ),
        *_common(),
        *PARENT_FILTERS["deal"],
    ),
    select_related=("owner", "company", "stage"),
    only=(
        "name",
        "amount",
        "currency",
        "expected_close_date",
        "status",
        "tags",
        "pipeline_id",
        "company_id",
        "company__name",
        "stage_id",
        "stage__name",
        *OWNER_ONLY,
    ),
    bulk_actions=(ASSIGN_OWNER, SET_STAGE, ADD_TAG, DELETE),
)

CONTRACT = ListSpec(
    key="contract",
    model=m.Contract,
    columns=(
        Column("title", "Title", "title", kind="link", sort="title"),
        Column("company", "Company", "company.name"),
        Column("status", "Status", "status", kind="badge", sort="status"),
        Column(
            "value",
            "Value",
            "value",
            kind="money",
            sort="value",
            currency_attr="currency",
            numeric=True,
        ),
        Column("end", "Ends", "end_date", kind="date", sort="end"),
        OWNER,
    ),
    sorts={
        "title": "title",
        "status": "status",
        "value": "value",
        "end": "end_date",
        **BASE_SORTS,
    },
    default_sort="-updated",
    filters=(
        _search("title"),
        ChoiceFilter(name="status", label="Status", field="status", choices=_choices(m.Contract)),
        DateRangeFilter(
            name="end", label="Ends", field="end_date", is_datetime=False, advanced=True
        ),
        *_common(tags=False),
        *PARENT_FILTERS["contract"],
    ),
    select_related=("owner", "company"),
    only=(
        "title",
        "status",
        "value",
        "currency",
        "end_date",
        "company_id",
        "company__name",
        *OWNER_ONLY,
    ),
    bulk_actions=(ASSIGN_OWNER, SET_STATUS, DELETE),
)

TASK = ListSpec(
    key="task",
    model=m.Task,
    columns=(
        Column("title", "Title", "title", kind="link", sort="title"),
        Column("status", "Status", "status", kind="badge", sort="status"),
        Column("priority", "Priority", "priority", kind="badge", sort="priority"),
        Column("due", "Due", "due_at", kind="datetime", sort="due"),
        Column("assignee", "Assignee", "assignee", kind="user", sort="assignee"),
        Column("about", "About", "", kind="record"),
    ),
    sorts={
        "title": "title",
        "status": "status",
        "priority": "priority",
        "due": "due_at",
        "assignee": "assignee__name",
        **BASE_SORTS,
    },
    default_sort="-updated",
    filters=(
        _search("title"),
        ChoiceFilter(name="status", label="Status", field="status", choices=_choices(m.Task)),
        ChoiceFilter(
            name="priority",
            label="Priority",
            field="priority",
            choices=_choices(m.Task, "priority"),
        ),
        UserFilter(name="assignee", label="Assignee", field="assignee"),
        DateRangeFilter(name="due", label="Due", field="due_at", advanced=True),
        *_common(),
        *PARENT_FILTERS["task"],
    ),
    select_related=("owner", "assignee", "company", "contact", "lead", "deal", "section__board"),
    only=(
        "title",
        "status",
        "priority",
        "due_at",
        "tags",
        "assignee_id",
        "assignee__name",
        "assignee__email",
        "company_id",
        "company__name",
        "contact_id",
        "contact__first_name",
        "contact__last_name",
        "lead_id",
        "lead__first_name",
        "lead__last_name",
        "deal_id",
        "deal__name",
        "section_id",
        "section__board_id",
        "section__board__title",
        *OWNER_ONLY,
    ),
    bulk_actions=(ASSIGN_OWNER, SET_STATUS, ADD_TAG, DELETE),
)

DOCUMENT = ListSpec(
    key="document",
    model=m.Document,
    columns=(
        Column("name", "Name", "name", kind="link", sort="name"),
        Column("kind", "Kind", "kind", kind="badge", sort="kind"),
        Column("type", "Type", "document_type.name", sort="type"),
        Column("size", "Size", "size", kind="size", sort="size", numeric=True),
        OWNER,
        UPDATED,
    ),
    sorts={
        "name": "name",
        "kind": "kind",
        "type": "document_type__name",
        "size": "size",
        **BASE_SORTS,
    },
    default_sort="-updated",
    filters=(
        _search("name"),
        ChoiceFilter(
            name="kind", label="Kind", field="kind", choices=_choices(m.Document, "kind")
        ),
        LookupFilter(name="type", label="Type", field="document_type", model=m.DocumentType),
        *_common(),
        *PARENT_FILTERS["document"],
    ),
    select_related=("owner", "document_type"),
    only=("name", "kind", "size", "tags", "document_type_id", "document_type__name", *OWNER_ONLY),
    bulk_actions=(ASSIGN_OWNER, ADD_TAG, DELETE),
)

SPECS: dict[str, ListSpec] = {
    spec.key: spec for spec in (COMPANY, CONTACT, LEAD, DEAL, CONTRACT, TASK, DOCUMENT)
}
