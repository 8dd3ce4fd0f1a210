"""Test-wide fixtures: a throwaway embedded PostgreSQL unless DATABASE_URL is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from django.conf import settings

from config import localdb


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
) -> Iterator[None]:
    """Point Django at a fresh embedded cluster for this session (pytest-django's hook for
    changing database settings before the test database is created)."""
    if os.environ.get("DATABASE_URL"):
        yield
        return
    server = localdb.throwaway()
    for db in settings.DATABASES.values():
        db.update(HOST="127.0.0.1", PORT=str(server.port), USER=localdb.SUPERUSER, PASSWORD="")
    try:
        yield
    finally:
        localdb.discard(server)


def _server_url(dbname: str) -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{dbname}"


@pytest.fixture
def fresh_database_url(django_db_setup: None, django_db_blocker) -> Iterator[str]:
    """An empty database on the test server, for tests that run subprocesses (manage.py,
    the container entrypoint, backup scripts) which cannot see the test transaction.
    Dropped afterwards."""
    import uuid

    import psycopg

    name = f"minicrm_extra_{uuid.uuid4().hex[:12]}"
    admin_url = _server_url("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _server_url(name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Personas for access tests (docs/permissions.md) ---------------------------------------
# sales_rep, teammate and manager share `home_team`; outsider is on `other_team`; admin_user
# has no team (admins see everything). admin_user also replaces pytest-django's fixture of the
# same name, so `admin_client` signs in as this role=admin superuser. Every persona's password
# is accounts.factories.DEFAULT_PASSWORD.

if TYPE_CHECKING:
    from accounts.models import Team, User


@pytest.fixture
def home_team(db: None) -> Team:
    from accounts.factories import TeamFactory

    return TeamFactory(name="Home team")


@pytest.fixture
def other_team(db: None) -> Team:
    from accounts.factories import TeamFactory

    return TeamFactory(name="Other team")


@pytest.fixture
def sales_rep(home_team: Team) -> User:
    from accounts.factories import UserFactory

    return UserFactory(email="sales.rep@example.com", name="Sally Rep", team=home_team)


@pytest.fixture
def teammate(home_team: Team) -> User:
    from accounts.factories import UserFactory

    return UserFactory(email="teammate@example.com", name="Tom Mate", team=home_team)


@pytest.fixture
def outsider(other_team: Team) -> User:
    from accounts.factories import UserFactory

    return UserFactory(email="outsider@example.com", name="Olga Outside", team=other_team)


@pytest.fixture
def manager(home_team: Team) -> User:
    from accounts.factories import UserFactory

    return UserFactory(
        email="manager@example.com", name="Mona Manager", team=home_team, manager=True
    )


@pytest.fixture
def admin_user(db: None) -> User:
    from accounts.factories import UserFactory

    return UserFactory(email="admin@example.com", name="Ada Admin", team=None, admin=True)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    # Factories and personas create users with passwords; the production hasher would spend
    # seconds per test. Tests of hashing itself can override PASSWORD_HASHERS again.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_worker_cache() -> None:
    # What a worker keeps for a minute (count estimates, crm.pagination) is keyed by SQL,
    # which repeats from test to test over different rows.
    from django.core.cache import caches

    caches["worker"].clear()


@pytest.fixture(autouse=True)
def fresh_kept_queries() -> None:
    # Queries compiled once per viewer's rules (crm.kept) are kept under keys that repeat from
    # test to test for admins; a test that changes a module constant (a panel's COUNT_CAP)
    # must not get another test's SQL.
    from crm import kept

    kept.compiled.clear()


@pytest.fixture
def settle_statistics(db: None):
    """ANALYZE a model's table, this test's uncommitted rows counted.

    Row counts of lists and the admin (crm.pagination) take their path from the table's
    statistics: one query when pg_class has a density, an EXPLAIN too when it has none, the
    estimate alone when it says 1,000 rows or more. Autovacuum rewrites those statistics
    whenever it likes, after earlier tests' rolled-back rows: mid-test it turned a
    changelist's 8 queries into 7, and stale statistics of a table bloated by earlier tests
    made two rows look like 20,000. A test that asserts a count or a query budget through
    that path settles the statistics first, so it measures what its table holds now."""
    from django.db import connection

    def settle(model) -> None:
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")

    return settle


@pytest.fixture
def explain(settle_statistics):
    """The plan PostgreSQL would make at scale of a queryset (or of SQL reading `model`'s
    table): statistics settled first (settle_statistics), sequential scans off because the
    test tables are tiny, and with `bitmaps` index scans off too, to show which indexes can
    answer a filter whatever walk a ten-row table makes cheapest. EXPLAIN's text."""
    from django.db import connection
    from django.db.models import QuerySet

    def plan(query, *, model=None, bitmaps: bool = False) -> str:
        if isinstance(query, QuerySet):
            model = query.model
            sql, params = query.query.sql_with_params()
        else:
            sql, params = query, []
        settle_statistics(model)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            if bitmaps:
                cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())

    return plan


@pytest.fixture
def request_queries(admin_client) -> int:
    """Queries every signed-in admin request makes before its view (session, user, whatever
    middleware adds), measured on an admin URL that matches no page. Query budgets of admin
    pages are stated on top of it, so a new middleware does not break every budget."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert admin_client.get("/admin/crm/no-such-page/").status_code == 404
    return len(ctx.captured_queries)


@pytest.fixture
def login(client):
    """Sign a persona in on the test client: `login(sales_rep).get(url)`."""

    def sign_in(user: User):
        client.force_login(user)
        return client

    return sign_in
