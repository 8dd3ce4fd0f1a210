"""A record's history, ready to render (audit.selectors), and the admin pages built on it:
the History page of AuditHistoryAdminMixin and the read-only audit log."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEvent
from audit.selectors import audit_log, record_history, record_history_queryset
from crm import factories as f
from crm.models import Company, Contact, Deal, Industry

pytestmark = pytest.mark.django_db


def _changes(entry) -> dict[str, tuple]:
    return {c.label: (c.old, c.new) for c in entry.changes}


def test_an_update_shows_each_changed_field_with_readable_values(actor, acting) -> None:
    software, retail = (
        Industry.objects.create(name="Software"),
        Industry.objects.create(name="Retail"),
    )
    company = Company.objects.create(name="Acme", industry=software, annual_revenue=Decimal("10"))
    with acting():
        company.name, company.industry, company.type = "Acme Corp", retail, "partner"
        company.annual_revenue = Decimal("1234.50")
        company.custom_fields = {"region": "EU"}
        company.save()

    latest, created = record_history(model=Company, record_id=company.pk)
    assert latest.action_label == "Changed" and latest.user == actor
    assert latest.source == "/test/"
    assert _changes(latest) == {
        "Name": ("Acme", "Acme Corp"),
        "Industry": ("Software", "Retail"),
        "Type": ("Customer", "Partner"),
        "Annual revenue": (Decimal("10.00"), Decimal("1234.50")),
        "Custom fields: region": (None, "EU"),
    }
    assert created.action_label == "Created"
    assert _changes(created)["Name"] == (None, "Acme")


def test_a_deleted_record_keeps_its_history_and_last_state() -> None:
    company = Company.objects.create(name="Gone Inc", domain="gone.example")
    company_id = company.pk
    company.delete()
    deleted, _created = record_history(model=Company, record_id=company_id)
    assert deleted.action_label == "Deleted"
    assert _changes(deleted)["Name"] == ("Gone Inc", None)
    assert _changes(deleted)["Domain"] == ("gone.example", None)


def test_links_show_on_both_sides_by_name(acting) -> None:
    deal = f.DealFactory(name="Big deal")
    contact = f.ContactFactory(first_name="John", last_name="Smith")
    with acting():
        deal.contacts.add(contact)
        deal.contacts.remove(contact)

    removed, added, *_ = record_history(model=Deal, record_id=deal.pk)
    assert (added.action_label, _changes(added)) == (
        "Link added",
        {"Contacts": (None, "John Smith")},
    )
    assert _changes(removed) == {"Contacts": ("John Smith", None)}
    removed, added, *_ = record_history(model=Contact, record_id=contact.pk)
    assert _changes(added) == {"Deals": (None, "Big deal")}


def test_secrets_show_as_hidden() -> None:
    user = User.objects.create_user("pw@example.com", password="one-password-1")
    user.set_password("two-password-2")
    user.save()
    latest = record_history(model=User, record_id=user.pk)[0]
    assert _changes(latest) == {"Password": ("(hidden)", "(hidden)")}


def test_history_pages_by_keyset_and_costs_a_bounded_number_of_queries(
    django_assert_max_num_queries,
) -> None:
    company = Company.objects.create(name="v0", industry=Industry.objects.create(name="A"))
    for n in range(1, 6):
        Company.objects.filter(pk=company.pk).update(name=f"v{n}")
    # The entries with their users, then one query per model that foreign keys point to.
    with django_assert_max_num_queries(2):
        first = record_history(model=Company, record_id=company.pk, limit=4)
    assert [_changes(e)["Name"][1] for e in first] == ["v5", "v4", "v3", "v2"]
    last = first[-1]
    rest = record_history(model=Company, record_id=company.pk, before=(last.occurred_at, last.id))
    assert [_changes(e)["Name"][1] for e in rest] == ["v1", "v0"]


def test_a_record_history_is_served_by_the_record_index() -> None:
    company = Company.objects.create(name="Indexed")
    sql, params = record_history_queryset(model=Company, record_id=company.pk)[
        :50
    ].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "audit_event_record_idx" in plan


def test_the_audit_log_selector_filters_and_pages_by_id(actor, acting) -> None:
    with acting():
        companies = [Company.objects.create(name=f"Co {n}") for n in range(3)]
    Industry.objects.create(name="Unattributed")
    mine = audit_log(user_id=actor.pk, table="crm_company", limit=2)
    assert [e.record_id for e in mine] == [str(c.pk) for c in companies[:0:-1]]
    older = audit_log(user_id=actor.pk, table="crm_company", before_id=mine[-1].id)
    assert [e.record_id for e in older] == [str(companies[0].pk)]
    since = audit_log(action="insert", since=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    assert {e.table_name for e in since} >= {"crm_company", "crm_industry"}


@pytest.mark.urls("tests.audit.urls_audit")
def test_the_history_page_renders_the_diff(admin_client, django_assert_max_num_queries) -> None:
    company = Company.objects.create(name="Old name")
    Company.objects.filter(pk=company.pk).update(name="New name")
    url = reverse("audit_test_admin:crm_company_history", args=[company.pk])
    with django_assert_max_num_queries(8):
        response = admin_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Old name" in html and "New name" in html and "Changed" in html and "Created" in html
    assert f"?q={company.pk}" in html  # the link to the audit log of this record


@pytest.mark.urls("tests.audit.urls_audit")
def test_the_history_page_of_a_deleted_record_still_renders(admin_client) -> None:
    company = Company.objects.create(name="Deleted Ltd")
    company_id = company.pk
    company.delete()
    response = admin_client.get(reverse("audit_test_admin:crm_company_history", args=[company_id]))
    assert response.status_code == 200
    assert "Deleted Ltd" in response.content.decode()
    assert "History of a deleted company" in response.content.decode()
    unknown = reverse("audit_test_admin:crm_company_history", args=[Company().pk])
    assert admin_client.get(unknown).status_code == 404


@pytest.mark.urls("tests.audit.urls_audit")
def test_the_history_page_pages_with_an_older_link(admin_client) -> None:
    contact = Contact.objects.create(last_name="v0")
    for n in range(1, 5):
        Contact.objects.filter(pk=contact.pk).update(last_name=f"v{n}")
    url = reverse("audit_test_admin:crm_contact_history", args=[contact.pk])
    first = admin_client.get(url)
    assert first.context["older_id"] is not None
    assert len(first.context["entries"]) == 2  # history_page_size = 2 on this admin
    second = admin_client.get(f"{url}?before={first.context['older_id']}")
    assert [e.action for e in second.context["entries"]] == ["update", "update"]
    third = admin_client.get(f"{url}?before={second.context['older_id']}")
    assert [e.action for e in third.context["entries"]] == ["insert"]
    assert third.context["older_id"] is None


def test_the_audit_log_admin_lists_and_filters_without_counting_the_table(
    admin_client, django_assert_max_num_queries
) -> None:
    company = Company.objects.create(name="Listed")
    url = reverse("admin:audit_auditevent_changelist")
    with django_assert_max_num_queries(12):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].paginator.__class__.__name__ == "EstimatedCountPaginator"
    for query in (
        f"q={company.pk}",
        "table=crm_company",
        "action__exact=insert",
        "occurred_at__gte=2020-01-01+00:00:00%2B00:00",
    ):
        response = admin_client.get(f"{url}?{query}")
        assert response.status_code == 200, query
        assert str(company.pk) in response.content.decode(), query


def test_the_audit_log_admin_is_read_only(admin_client) -> None:
    Company.objects.create(name="Evidence")
    entry = AuditEvent.objects.latest("id")
    change_url = reverse("admin:audit_auditevent_change", args=[entry.pk])
    assert admin_client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert admin_client.get(change_url).status_code == 200  # viewable
    assert admin_client.post(change_url, {"action": "delete"}).status_code == 403
    delete_url = reverse("admin:audit_auditevent_delete", args=[entry.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=entry.pk, action="insert").exists()
