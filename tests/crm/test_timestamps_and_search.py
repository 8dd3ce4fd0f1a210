"""updated_at is kept by a database trigger for every writer; search runs over a generated,
lowercased and unaccented `search_text` column through named GIN indexes that queries can use.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models
from faker import Faker

from crm.factories import (
    BoardFactory,
    CompanyFactory,
    ContactFactory,
    ContractFactory,
    DealFactory,
    DocumentFactory,
    InvoiceFactory,
    LeadFactory,
    NoteFactory,
    TaskCommentFactory,
    TaskFactory,
)
from crm.models import (
    Board,
    Company,
    Contact,
    Contract,
    Deal,
    Document,
    Invoice,
    Lead,
    Note,
    Task,
    TaskComment,
)

pytestmark = pytest.mark.django_db

PAST = dt.datetime(2020, 1, 1, 9, 30, tzinfo=dt.UTC)
IMPORTED = dt.datetime(2019, 6, 1, 12, 0, tzinfo=dt.UTC)


def updated_at(obj: models.Model) -> dt.datetime:
    return type(obj)._base_manager.values_list("updated_at", flat=True).get(pk=obj.pk)


def db_clock() -> dt.datetime:
    """The database's wall clock now (not now(), which is the transaction's start)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def sql(statement: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def contact() -> Contact:
    """A contact last changed long ago, so any bump is visible."""
    return ContactFactory(first_name="Ann", city="Oslo", tags=["vip"], updated_at=PAST)


# --- touch_updated_at: no-ops stay no-ops ------------------------------------------------------


def test_no_op_save_leaves_updated_at_unchanged(contact: Contact) -> None:
    Contact.objects.get(pk=contact.pk).save()
    assert updated_at(contact) == PAST


def test_no_op_update_leaves_updated_at_unchanged(contact: Contact) -> None:
    Contact.objects.filter(pk=contact.pk).update(city="Oslo", first_name="Ann", tags=["vip"])
    assert updated_at(contact) == PAST


def test_no_op_raw_sql_update_leaves_updated_at_unchanged(contact: Contact) -> None:
    sql("UPDATE crm_contact SET city = city, custom_fields = custom_fields WHERE id = %s",
        [contact.pk])  # fmt: skip
    assert updated_at(contact) == PAST


# --- touch_updated_at: real changes are stamped ------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"city": "Bergen"},
        {"first_name": "Anna"},
        {"tags": ["vip", "churn-risk"]},
        {"custom_fields": {"tier": "gold"}},
        {"is_active": False},
        {"company": None},
        {"owner": None},
    ],
    ids=lambda change: next(iter(change)),
)
def test_real_change_via_update_bumps_updated_at(contact: Contact, change: dict) -> None:
    before = db_clock()
    Contact.objects.filter(pk=contact.pk).update(**change)
    assert updated_at(contact) >= before


def test_real_change_via_raw_sql_bumps_updated_at(contact: Contact) -> None:
    before = db_clock()
    sql("UPDATE crm_contact SET city = 'Bergen' WHERE id = %s", [contact.pk])
    assert updated_at(contact) >= before


def test_real_change_via_save_bumps_updated_at_and_the_instance_sees_it(
    contact: Contact,
) -> None:
    before = db_clock()
    contact.city = "Bergen"
    contact.save()
    assert updated_at(contact) >= before
    assert contact.updated_at == updated_at(contact)


def test_second_save_of_the_same_instance_does_not_roll_updated_at_back(
    contact: Contact,
) -> None:
    contact.city = "Bergen"
    contact.save()
    bumped = updated_at(contact)
    # The instance still carries whatever updated_at it last knew; writing an old value back
    # would count as "the writer set updated_at" and be kept.
    contact.save()
    assert updated_at(contact) == bumped
    contact.city = "Trondheim"
    contact.save()
    assert updated_at(contact) >= bumped


def test_change_later_in_the_creating_transaction_is_stamped_after_creation() -> None:
    # Services create and then adjust records inside one transaction; the adjustment must
    # not be stamped with the transaction's start, earlier than the row's own creation.
    created = ContactFactory()
    Contact.objects.filter(pk=created.pk).update(city="Bergen")
    assert updated_at(created) >= created.created_at


def test_explicit_updated_at_set_by_update_is_kept(contact: Contact) -> None:
    Contact.objects.filter(pk=contact.pk).update(city="Bergen", updated_at=IMPORTED)
    assert updated_at(contact) == IMPORTED


def test_explicit_updated_at_set_by_raw_sql_is_kept(contact: Contact) -> None:
    sql("UPDATE crm_contact SET city = 'Bergen', updated_at = %s WHERE id = %s",
        [IMPORTED, contact.pk])  # fmt: skip
    assert updated_at(contact) == IMPORTED


def test_explicit_updated_at_set_by_save_is_kept(contact: Contact) -> None:
    contact.city = "Bergen"
    contact.updated_at = IMPORTED
    contact.save()
    assert updated_at(contact) == IMPORTED
    assert contact.updated_at == IMPORTED


def test_insert_keeps_the_writers_timestamps() -> None:
    (imported,) = Contact.objects.bulk_create(
        [Contact(last_name="Legacy", created_at=IMPORTED, updated_at=IMPORTED)]
    )
    assert updated_at(imported) == IMPORTED


FACTORIES: dict[type[models.Model], Any] = {
    Board: BoardFactory,
    Company: CompanyFactory,
    Contact: ContactFactory,
    Contract: ContractFactory,
    Deal: DealFactory,
    Document: DocumentFactory,
    Invoice: InvoiceFactory,
    Lead: LeadFactory,
    Note: NoteFactory,
    Task: TaskFactory,
    TaskComment: TaskCommentFactory,
}
TOUCHED_MODELS = sorted(
    (
        m
        for m in apps.get_app_config("crm").get_models()
        if any(f.name == "updated_at" for f in m._meta.get_fields())
    ),
    key=lambda m: m.__name__,
)


def test_every_crm_model_with_updated_at_is_covered_here() -> None:
    assert set(TOUCHED_MODELS) == set(FACTORIES)


@pytest.mark.parametrize("model", TOUCHED_MODELS, ids=lambda m: m.__name__)
def test_every_table_with_updated_at_has_the_trigger(model: type[models.Model]) -> None:
    obj = FACTORIES[model]()
    table = model._meta.db_table
    model._base_manager.filter(pk=obj.pk).update(updated_at=PAST)

    sql(f"UPDATE {table} SET legacy_id = legacy_id WHERE id = %s", [obj.pk])  # noqa: S608
    assert updated_at(obj) == PAST

    before = db_clock()
    sql(f"UPDATE {table} SET legacy_id = 'src-1' WHERE id = %s", [obj.pk])  # noqa: S608
    assert updated_at(obj) >= before


# --- search_text -------------------------------------------------------------------------------


def test_contact_search_text_is_lowercased_and_unaccented() -> None:
    contact = ContactFactory(
        first_name="Ångström",
        last_name="Müller",
        email="Zoë.Ŝmith@Example.COM",
        mobile_phone="+47 22 33 44 55",
    )
    text = Contact.objects.values_list("search_text", flat=True).get(pk=contact.pk)
    assert "angstrom muller" in text
    assert "zoe.smith@example.com" in text
    assert "+47 22 33 44 55" in text
    assert text == text.lower()


@pytest.mark.parametrize(
    ("factory", "kwargs", "expected"),
    [
        (
            CompanyFactory,
            {"name": "Société Générale", "domain": "SG.fr"},
            "societe generale sg.fr",
        ),
        (LeadFactory, {"first_name": "José", "last_name": "Ñúñez"}, "jose nunez"),
        (DealFactory, {"name": "Crème Brûlée Renewal"}, "creme brulee renewal"),
    ],
    ids=["company", "lead", "deal"],
)
def test_search_text_of_other_records_is_lowercased_and_unaccented(
    factory: Any, kwargs: dict[str, str], expected: str
) -> None:
    record = factory(**kwargs)
    text = type(record).objects.values_list("search_text", flat=True).get(pk=record.pk)
    assert expected in text


def test_search_text_follows_an_update_that_bypasses_the_orm(contact: Contact) -> None:
    sql("UPDATE crm_contact SET last_name = 'Øvergård' WHERE id = %s", [contact.pk])
    text = Contact.objects.values_list("search_text", flat=True).get(pk=contact.pk)
    assert "ann overgard" in text


def test_search_text_tolerates_missing_parts() -> None:
    (contact,) = Contact.objects.bulk_create([Contact(last_name="Solo")])
    text = Contact.objects.values_list("search_text", flat=True).get(pk=contact.pk)
    assert text.split() == ["solo"]


def test_full_text_search_matches_regardless_of_accents_and_case() -> None:
    contact = ContactFactory(first_name="Ångström", last_name="Müller")
    ContactFactory(first_name="Ann", last_name="Other")
    rows = sql(
        "SELECT id FROM crm_contact WHERE to_tsvector('simple'::regconfig, search_text) "
        "@@ plainto_tsquery('simple', lower(public.f_unaccent(%s)))",
        ["MULLER angström"],
    )
    assert rows == [(contact.pk,)]


# --- indexes -----------------------------------------------------------------------------------


def _declared_indexes() -> list[tuple[str, str]]:
    pairs = []
    for app_label in ("crm", "accounts"):
        for model in apps.get_app_config(app_label).get_models():
            pairs += [(model._meta.db_table, index.name) for index in model._meta.indexes]
    return sorted(pairs)


@pytest.mark.parametrize(("table", "name"), _declared_indexes())
def test_declared_index_exists_in_the_database(table: str, name: str) -> None:
    assert sql(
        "SELECT 1 FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s "
        "AND indexname = %s",
        [table, name],
    )


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("contact_search_trgm", "USING gin (search_text gin_trgm_ops)"),
        ("contact_search_fts", "USING gin (to_tsvector('simple'::regconfig, search_text))"),
        ("contact_cf_gin", "USING gin (custom_fields jsonb_path_ops)"),
        ("company_search_trgm", "USING gin (search_text gin_trgm_ops)"),
        ("lead_search_trgm", "USING gin (search_text gin_trgm_ops)"),
        ("deal_search_trgm", "USING gin (search_text gin_trgm_ops)"),
        ("note_body_fts", "to_tsvector('simple'::regconfig, lower(f_unaccent"),
    ],
)
def test_search_indexes_have_the_operator_classes_their_queries_need(
    name: str, fragment: str
) -> None:
    (definition,) = sql("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])[0]
    assert fragment in definition


def _foreign_keys() -> list[tuple[str, str]]:
    pairs = []
    for app_label in ("crm", "accounts"):
        for model in apps.get_app_config(app_label).get_models(include_auto_created=True):
            pairs += [
                (model._meta.db_table, field.column)
                for field in model._meta.concrete_fields
                if isinstance(field, models.ForeignKey)
            ]
    return sorted(set(pairs))


@pytest.mark.parametrize(("table", "column"), _foreign_keys())
def test_every_foreign_key_leads_an_index(table: str, column: str) -> None:
    # Deleting a parent row and the related panels both look rows up by the FK column.
    assert sql(
        """
        SELECT 1 FROM pg_index i
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = %s::regclass AND a.attname = %s
        """,
        [table, column],
    )


# --- the planner can use the search indexes ----------------------------------------------------


@pytest.fixture
def many_contacts() -> Contact:
    """A few thousand realistic contacts plus John Smith, with fresh planner statistics."""
    fake = Faker()
    fake.seed_instance(2024)
    Contact.objects.bulk_create(
        [
            Contact(first_name=fake.first_name(), last_name=fake.last_name(), email=fake.email())
            for _ in range(3000)
        ],
        batch_size=1000,
    )
    (john,) = Contact.objects.bulk_create(
        [Contact(first_name="John", last_name="Smith", email="john.smith@example.com")]
    )
    sql("ANALYZE crm_contact")
    # With the whole table in a few pages, a scan can look cheapest; forbid it to prove the
    # index serves the query at all (on a large table the planner picks it by itself).
    sql("SET LOCAL enable_seqscan = off")
    return john


def _plan(query: str, params: list[Any]) -> str:
    return "\n".join(row[0] for row in sql(f"EXPLAIN {query}", params))


def test_fuzzy_search_with_typos_can_use_the_trigram_index(many_contacts: Contact) -> None:
    query = "SELECT id FROM crm_contact WHERE search_text %%> %s"
    assert "contact_search_trgm" in _plan(query, ["jonh smiht"])
    # Two typos in two short words score about 0.36 word similarity: below pg_trgm's default
    # threshold of 0.6, so fuzzy search has to lower it to find them.
    sql("SET LOCAL pg_trgm.word_similarity_threshold = 0.3")
    assert (many_contacts.pk,) in sql(query, ["jonh smiht"])


def test_fuzzy_search_through_the_orm_lookup_can_use_the_trigram_index(
    many_contacts: Contact,
) -> None:
    # Without order_by() the default "-updated_at" ordering steers the planner to walk
    # contact_updated_idx instead; a search ranks by closeness, not by recency.
    query = Contact.objects.filter(search_text__trigram_word_similar="john smiht").order_by()
    assert "contact_search_trgm" in query.explain()
    assert many_contacts in query


def test_full_text_search_can_use_the_fts_index(many_contacts: Contact) -> None:
    query = (
        "SELECT id FROM crm_contact "
        "WHERE to_tsvector('simple'::regconfig, search_text) @@ plainto_tsquery('simple', %s)"
    )
    assert "contact_search_fts" in _plan(query, ["smith"])
    assert (many_contacts.pk,) in sql(query, ["smith"])
