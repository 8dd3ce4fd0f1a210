"""crm.fence: a query over a record's related rows, read in order first and checked for
visibility row by row, gives exactly what the plain visibility filter gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from crm import factories as f
from crm import permissions
from crm.fence import fenced_sql
from crm.models import Company, Contact
from crm.selectors.panels import PANEL_SPECS, related_panel

pytestmark = pytest.mark.django_db


def _company_with_mixed_rows(sales_rep, teammate, outsider) -> Company:
    """A company of the rep's whose related rows interleave, in every panel's order, rows the
    rep may see (own, a teammate's shared, watched) and rows the rep may not."""
    company = f.CompanyFactory(owner=sales_rep)
    for i in range(6):
        name = f"N{i:02d}"
        f.ContactFactory(owner=sales_rep, company=company, last_name=f"{name}a")
        f.ContactFactory(owner=outsider, company=company, last_name=f"{name}b")
        f.ContactFactory(
            owner=teammate, company=company, last_name=f"{name}c", shared_with_team=i % 2 == 0
        )
        f.DealFactory(owner=sales_rep, company=company, name=f"{name} mine")
        f.DealFactory(owner=outsider, company=company, name=f"{name} theirs")
        f.LeadFactory(owner=outsider if i % 2 else sales_rep, company=company)
        # One start date each: the panel orders by start date alone, and rows that tie may
        # come in either order from two plans (the fenced read, the plain query below).
        f.ContractFactory(
            owner=outsider if i % 3 else sales_rep,
            company=company,
            start_date=dt.date(2026, 1, 1) + dt.timedelta(days=i),
        )
    watched = f.ContactFactory(owner=outsider, company=company, last_name="N00z")
    watched.watchers.add(sales_rep)
    return company


def _expected(user: Any, record: Any, spec: tuple, cap: int) -> tuple[list[Any], int]:
    """The panel worked out the plain way: every visible related row, in the panel's order."""
    rows = permissions.visible_under(user, spec[2](record), record)
    keys = list(rows.values_list("pk", flat=True))
    return keys[: min(10, cap)], min(len(keys), cap)


@pytest.mark.parametrize("cap", [1000, 7])
@pytest.mark.parametrize("persona", ["sales_rep", "manager", "teammate", "outsider"])
def test_fenced_panels_show_what_the_plain_filter_shows(
    persona, cap, sales_rep, teammate, outsider, manager, monkeypatch
) -> None:
    monkeypatch.setattr("crm.selectors.panels.COUNT_CAP", cap)
    company = _company_with_mixed_rows(sales_rep, teammate, outsider)
    user = {"sales_rep": sales_rep, "manager": manager, "teammate": teammate}.get(
        persona, outsider
    )
    for spec in PANEL_SPECS["company"]:
        panel = related_panel(user, company, spec[0], can_add=False)
        keys, count = _expected(user, company, spec, cap)
        assert [row.pk for row in panel.rows] == keys, spec[0]
        assert (panel.count, panel.count_capped) == (count, count >= cap), spec[0]


def test_the_contacts_panel_skips_hidden_rows_in_name_order(
    sales_rep, teammate, outsider, monkeypatch
) -> None:
    monkeypatch.setattr("crm.selectors.panels.COUNT_CAP", 5)
    company = _company_with_mixed_rows(sales_rep, teammate, outsider)
    panel = related_panel(sales_rep, company, "contacts", can_add=False)
    names = [row.title.split()[-1] for row in panel.rows]
    # Own (a), a teammate's shared on even rows (c), the watched one (z); never the
    # outsider's (b) or the teammate's unshared ones; the count stops at the cap.
    assert names == ["N00a", "N00c", "N00z", "N01a", "N02a"]
    assert (panel.count, panel.count_capped) == (5, True)


def test_fenced_sql_reads_the_inner_rows_under_the_tables_name(sales_rep, outsider) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    mine = f.ContactFactory(owner=sales_rep, company=company, last_name="B")
    f.ContactFactory(owner=outsider, company=company, last_name="A")
    f.ContactFactory(owner=sales_rep, last_name="C")  # visible, but not the company's
    inner = Contact.objects.filter(company=company).order_by("last_name")
    outer = Contact.objects.visible_to(sales_rep).order_by("last_name").values("pk")
    sql, params = fenced_sql(outer, inner)
    assert sql.startswith('WITH "crm_contact" AS (')
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert [row[0] for row in cursor.fetchall()] == [mine.pk]


def test_fenced_sql_refuses_rows_of_another_model(sales_rep) -> None:
    with pytest.raises(ValueError, match="cannot fence"):
        fenced_sql(Contact.objects.visible_to(sales_rep), Company.objects.all())


def test_fenced_sql_refuses_an_outer_query_that_reads_the_table_again(sales_rep) -> None:
    # A subquery over the same table would read only the fenced rows: refused, not wrong.
    again = Contact.objects.filter(pk__in=Contact.objects.filter(owner=sales_rep).values("pk"))
    with pytest.raises(ValueError, match="reads crm_contact 2 times"):
        fenced_sql(again.values("pk"), Contact.objects.all())


def test_fenced_sql_refuses_inner_rows_with_an_offset(sales_rep) -> None:
    with pytest.raises(ValueError, match="not offset"):
        fenced_sql(Contact.objects.visible_to(sales_rep), Contact.objects.all()[2:5])
