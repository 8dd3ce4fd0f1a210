"""Helpers for tests that connect as a separate database role (the app's non-owner role)."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from crm.models import Company


def refusal(conn: psycopg.Connection, sql: str, params: tuple = ()) -> str:
    """Run `sql` expecting the database to refuse it; return the error message."""
    with pytest.raises(psycopg.Error) as excinfo, conn.transaction():
        conn.execute(sql, params)
    return str(excinfo.value)


def insert_company(conn: psycopg.Connection, name: str) -> str:
    """INSERT a company on `conn`, columns and values as the ORM would send them."""
    company = Company(name=name)
    fields = [f for f in Company._meta.concrete_fields if not f.generated]
    values = [f.get_db_prep_save(getattr(company, f.attname), connection) for f in fields]
    columns = ", ".join(f.column for f in fields)
    conn.execute(
        f"INSERT INTO crm_company ({columns}) VALUES ({', '.join(['%s'] * len(fields))})",  # noqa: S608 - model columns
        values,
    )
    return str(company.pk)
