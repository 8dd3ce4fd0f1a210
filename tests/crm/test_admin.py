"""Django admin for the CRM: every model's pages render with data, lists cost a fixed number
of queries, search goes through the indexes, custom fields are validated form fields."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit import tracking
from crm import factories as f
from crm import models
from crm.admin.parties import ContactAdmin
from crm.admin.work import NoteAdmin

_n = itertools.count()


def _name(prefix: str) -> str:
    return f"{prefix} {next(_n)}"


# One row per call, with every relation the admin list shows filled and distinct per row,
# so that a missing list_select_related shows up as one extra query per row.
ROW_FACTORIES: dict[type[Model], Callable[[], Model]] = {
    models.Industry: lambda: f.IndustryFactory(name=_name("Industry")),
    models.DealType: lambda: f.DealTypeFactory(name=_name("Deal type")),
    models.Campaign: lambda: f.CampaignFactory(name=_name("Campaign")),
    models.DocumentType: lambda: f.DocumentTypeFactory(name=_name("Document type")),
    models.Pipeline: lambda: f.PipelineFactory(),
    models.Stage: lambda: f.StageFactory(),
    models.CustomFieldDefinition: lambda: f.CustomFieldDefinitionFactory(),
    models.Company: lambda: f.CompanyFactory(industry=f.IndustryFactory(name=_name("Industry"))),
    models.Contact: lambda: f.ContactFactory(),
    models.Lead: lambda: f.LeadFactory(campaign=f.CampaignFactory(name=_name("Campaign"))),
    models.Deal: lambda: f.DealFactory(type=f.DealTypeFactory(name=_name("Deal type"))),
    models.Contract: lambda: f.ContractFactory(),
    models.Invoice: lambda: f.InvoiceFactory(),
    models.Board: lambda: f.BoardFactory(),
    models.Section: lambda: f.SectionFactory(),
    models.Task: lambda: f.TaskFactory(company=f.CompanyFactory(), section=f.SectionFactory()),
    models.TaskComment: lambda: f.TaskCommentFactory(),
    models.Note: lambda: f.NoteFactory(),
    models.SavedView: lambda: f.SavedViewFactory(),
    models.Document: lambda: f.DocumentFactory(
        document_type=f.DocumentTypeFactory(name=_name("Document type"))
    ),
}
CRM_MODELS = sorted(ROW_FACTORIES, key=lambda model: model.__name__)

# Queries a changelist may add to the per-request ones (session, user, middleware): the count
# (catalog estimate or plan, then an exact count on a small table), the page, and one per
# related list filter's choices (Deal has five). The same with 3 rows and with 30.
CHANGELIST_QUERY_BUDGET = 9
# A change form: the record, custom field definitions, and one query per relation widget
# showing its current value (Document links nine kinds of record).
CHANGE_QUERY_BUDGET = 16


def _url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_crm_model_is_registered_and_covered_here() -> None:
    # Derived tables (trigger-kept counters, audit.tracking.NOT_AUDITED_MODELS) have no admin:
    # nobody edits them, and the records they count are in the admin already.
    concrete = {
        model
        for model in apps.get_app_config("crm").get_models()
        if not model._meta.auto_created and model._meta.label not in tracking.NOT_AUDITED_MODELS
    }
    assert concrete == set(ROW_FACTORIES)
    assert models.DealStageTotal not in admin.site._registry
    for model in concrete:
        model_admin = admin.site._registry[model]
        assert model_admin.list_display, model
        assert model_admin.search_fields, model
        assert model_admin.show_full_result_count is False, model
        relations = {
            field.name
            for field in model._meta.get_fields()
            if field.is_relation and not field.auto_created
        }
        # A plain <select> of a related table would load all of it into every change form.
        editable = relations - set(model_admin.readonly_fields)
        assert editable <= set(model_admin.autocomplete_fields), model


@pytest.mark.django_db
@pytest.mark.parametrize("model", CRM_MODELS, ids=lambda m: m.__name__)
def test_admin_pages_render_with_data(
    admin_client,
    django_assert_max_num_queries,
    request_queries: int,
    settle_statistics,
    model: type[Model],
) -> None:
    if issubclass(model, models.CustomizableRecord):
        f.CustomFieldDefinitionFactory(
            entity=model.CUSTOM_FIELDS_ENTITY, key="region", label="Sales region"
        )
    obj = ROW_FACTORIES[model]()
    ROW_FACTORIES[model]()
    settle_statistics(model)

    changelist = admin_client.get(_url(model, "changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count == 2
    assert admin_client.get(_url(model, "add")).status_code == 200
    with django_assert_max_num_queries(request_queries + CHANGE_QUERY_BUDGET):
        change = admin_client.get(_url(model, "change", obj.pk))
    assert change.status_code == 200
    if issubclass(model, models.CustomizableRecord):
        assert "cf_region" in change.context["adminform"].form.fields
        assert b"Sales region" in change.content


def _changelist_queries(client, model: type[Model]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(_url(model, "changelist"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("model", CRM_MODELS, ids=lambda m: m.__name__)
def test_changelist_queries_do_not_grow_with_rows(
    admin_client,
    django_assert_max_num_queries,
    request_queries: int,
    settle_statistics,
    model: type[Model],
) -> None:
    for _ in range(3):
        ROW_FACTORIES[model]()
    settle_statistics(model)
    bound = request_queries + CHANGELIST_QUERY_BUDGET
    with django_assert_max_num_queries(bound):
        few = _changelist_queries(admin_client, model)
    for _ in range(27):
        ROW_FACTORIES[model]()
    settle_statistics(model)
    with django_assert_max_num_queries(bound):
        many = _changelist_queries(admin_client, model)
    assert many == few


@pytest.mark.django_db
def test_task_comments_inline_costs_no_query_per_comment(
    admin_client, django_assert_max_num_queries
) -> None:
    task = f.TaskFactory()
    f.TaskCommentFactory(task=task)
    url = _url(models.Task, "change", task.pk)
    with CaptureQueriesContext(connection) as one:
        admin_client.get(url)
    f.TaskCommentFactory.create_batch(9, task=task)

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = admin_client.get(url)

    assert len(response.context["inline_admin_formsets"][0].formset.forms) == 10


@pytest.mark.django_db
def test_comment_added_on_the_task_page_is_authored_by_the_admin(admin_client, admin_user) -> None:
    task = f.TaskFactory(status=models.Task.Status.OPEN, priority=models.Task.Priority.HIGH)
    prefix = "comments"

    response = admin_client.post(
        _url(models.Task, "change", task.pk),
        {
            "title": task.title,
            "status": task.status,
            "priority": task.priority,
            "owner": str(task.owner_id),
            "assignee": str(task.assignee_id),
            "position": "0",
            "tags": "",
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-0-body": "Called them back.",
            f"{prefix}-0-task": str(task.pk),
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    comment = task.comments.get()
    assert (comment.body, comment.author) == ("Called them back.", admin_user)


@pytest.mark.django_db
def test_large_changelist_shows_an_estimate_without_count(admin_client, settings) -> None:
    settings.ESTIMATED_COUNT_THRESHOLD = 20
    models.Industry.objects.bulk_create(
        models.Industry(name=f"Industry {i:03d}") for i in range(150)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_industry")

    with CaptureQueriesContext(connection) as ctx:
        response = admin_client.get(_url(models.Industry, "changelist"))

    assert response.status_code == 200
    assert response.context["cl"].paginator.count_is_estimated
    assert response.context["cl"].result_count == 150  # ANALYZE sampled every row
    assert len(response.context["cl"].result_list) == 100  # paginated, not "show all"
    assert not [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]


def _plan(queryset) -> str:
    """The plan with sequential and plain index scans off: only a bitmap scan of an index
    whose operator matches the WHERE clause can serve it."""
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_indexscan")
    return plan if isinstance(plan, str) else json.dumps(plan)


@pytest.mark.django_db
def test_contact_search_is_accent_and_case_blind_and_uses_the_trigram_index(
    admin_client, rf, admin_user
) -> None:
    jose = f.ContactFactory(first_name="José", last_name="Müller")
    f.ContactFactory(first_name="Josh", last_name="Miller")

    response = admin_client.get(_url(models.Contact, "changelist"), {"q": "jose MULL"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [jose]
    request = rf.get("/")
    request.user = admin_user
    contact_admin = ContactAdmin(models.Contact, admin.site)
    queryset, may_have_duplicates = contact_admin.get_search_results(
        request, models.Contact.objects.all(), "jose mull"
    )
    assert not may_have_duplicates
    assert "contact_search_trgm" in _plan(queryset)


@pytest.mark.django_db
def test_autocomplete_finds_companies_through_the_trigram_search(admin_client) -> None:
    acme = f.CompanyFactory(name="Ácme Rockets")
    f.CompanyFactory(name="Globex")

    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "crm", "model_name": "deal", "field_name": "company", "term": "acme"},
    )

    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(acme.pk)]


@pytest.mark.django_db
def test_note_search_uses_the_full_text_index(admin_client, rf, admin_user) -> None:
    hit = f.NoteFactory(body="Called about the Zürich office renewal.")
    f.NoteFactory(body="Sent the brochure.")

    response = admin_client.get(_url(models.Note, "changelist"), {"q": "zurich"})

    assert list(response.context["cl"].result_list) == [hit]
    request = rf.get("/")
    request.user = admin_user
    queryset, _ = NoteAdmin(models.Note, admin.site).get_search_results(
        request, models.Note.objects.all(), "zurich renewal"
    )
    assert "note_body_fts" in _plan(queryset)
