#!/usr/bin/env bash
# minicrm container entrypoint. Also runs outside Docker (tests call it with bash), so it relies
# on nothing the image alone provides: PYTHON picks the interpreter, the app is this script's ../
#
# Usage: docker-entrypoint.sh [COMMAND [ARGS...]]
#   web          (default) wait for the database, migrate, create the first superuser if asked,
#                then exec gunicorn. A failed migration stops here: no server on a
#                half-migrated database.
#   runserver    the same preparation, then Django's development server (docker-compose.yml).
#   prepare      the preparation only, then exit (migrate without serving, in a one-off run).
#   healthcheck  GET /healthz on this container; exit 0 when it answers 200 (Docker HEALTHCHECK).
#   anything else is exec'd as given: `docker compose run --rm web python manage.py shell`.
#
# Environment (all optional; docs/deployment.md and .env.production.example describe them):
#   PYTHON=python  DB_WAIT_TIMEOUT=60  PORT=8000  BIND_HOST=0.0.0.0
#   WEB_CONCURRENCY=2  GUNICORN_THREADS=4  GUNICORN_TIMEOUT=30  GUNICORN_KEEPALIVE=75
#   DJANGO_SUPERUSER_EMAIL  DJANGO_SUPERUSER_PASSWORD
#   SEED_DEMO=false (development only: load demo data into an empty database)
#   MIGRATE_DATABASE_URL: the tables' owner. When set, the preparation (migrate, the app's role
#                and its grants, the superuser) runs with it, and the server with DATABASE_URL,
#                which must name another role: the app then cannot switch the audit triggers
#                off (docs/audit.md). Unset: DATABASE_URL does everything, as in development.
set -Eeuo pipefail

PYTHON="${PYTHON:-python}"
APP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings}"
cd "$APP_DIR"

log() {
    printf 'entrypoint: %s\n' "$*" >&2
}

# One Python process polls until the deadline, so the bound holds however slow Django's import
# is, and each attempt's connect timeout follows the time left (libpq's floor is 2 s), so a
# dropped packet cannot stretch the wait. Messages name host, port and database, never the
# password.
wait_for_database() {
    "$PYTHON" - <<'PY'
import os
import sys
import time

import django
from django.db import OperationalError, connection

django.setup()
timeout = float(os.environ.get("DB_WAIT_TIMEOUT", "60"))
deadline = time.monotonic() + timeout
db = connection.settings_dict
where = f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
attempts = 0
while True:
    attempts += 1
    db["OPTIONS"]["connect_timeout"] = max(2, min(5, round(deadline - time.monotonic())))
    try:
        connection.ensure_connection()
    except OperationalError as exc:
        last_error = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            print(
                f"entrypoint: gave up waiting for the database at {where} after {timeout:g}s "
                f"({attempts} attempts).\n"
                f"entrypoint: last error: {last_error}\n"
                "entrypoint: check DATABASE_URL and that the database server is running "
                "(docker compose ps; docker compose logs db).",
                file=sys.stderr,
            )
            sys.exit(1)
        if attempts == 1:
            print(f"entrypoint: waiting up to {timeout:g}s for the database at {where} ...",
                  file=sys.stderr, flush=True)
        time.sleep(min(1.0, remaining))
    else:
        print(f"entrypoint: database at {where} is up.", file=sys.stderr)
        break
PY
}

# createsuperuser --noinput reads DJANGO_SUPERUSER_EMAIL / DJANGO_SUPERUSER_PASSWORD itself.
# It neither skips an existing user nor checks the password against the validators, so this
# does both: a restart never fails on the existing admin, and a weak first password is refused.
ensure_superuser() {
    if [ -z "${DJANGO_SUPERUSER_EMAIL:-}" ]; then
        return 0
    fi
    "$PYTHON" - <<'PY'
import os
import sys

import django

django.setup()
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command

User = get_user_model()
email = os.environ["DJANGO_SUPERUSER_EMAIL"].strip()
password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
if User._default_manager.filter(**{f"{User.USERNAME_FIELD}__iexact": email}).exists():
    print(f"entrypoint: superuser {email} exists; left unchanged.", file=sys.stderr)
    sys.exit(0)
if password:
    try:
        validate_password(password, User(**{User.USERNAME_FIELD: email}))
    except ValidationError as exc:
        print("entrypoint: DJANGO_SUPERUSER_PASSWORD refused: " + " ".join(exc.messages),
              file=sys.stderr)
        sys.exit(1)
call_command("createsuperuser", interactive=False, verbosity=0, **{User.USERNAME_FIELD: email})
note = "" if password else " without a password (set one: manage.py changepassword)"
print(f"entrypoint: created superuser {email}{note}.", file=sys.stderr)
PY
}

# MIGRATE_DATABASE_URL set: the tables' owner (this URL) migrates and grants; the web app
# connects as the role DATABASE_URL names, which must be another one (docs/audit.md). Checked
# before anything runs. Names roles, never passwords.
check_app_role_urls() {
    "$PYTHON" - <<'PY'
import os
import sys

import environ

if not os.environ.get("DATABASE_URL"):
    sys.exit("entrypoint: MIGRATE_DATABASE_URL is set but DATABASE_URL is not: DATABASE_URL must "
             "name the web app's own role (docs/audit.md).")
owner = environ.Env.db_url_config(os.environ["MIGRATE_DATABASE_URL"])["USER"]
app = environ.Env.db_url_config(os.environ["DATABASE_URL"])["USER"]
if not owner or not app:
    sys.exit("entrypoint: DATABASE_URL and MIGRATE_DATABASE_URL must both name a user.")
if app == owner:
    sys.exit(f"entrypoint: DATABASE_URL and MIGRATE_DATABASE_URL both connect as {owner!r}: "
             "refusing to start. The app must connect as a role that does not own the tables, "
             "or it can switch the audit triggers off (docs/audit.md). Give DATABASE_URL the "
             "app's role (e.g. minicrm_app), or drop MIGRATE_DATABASE_URL.")
print(f"entrypoint: migrations run as {owner!r}; the app will connect as {app!r}.",
      file=sys.stderr)
PY
}

# Run with DATABASE_URL = the owner's URL and APP_DATABASE_URL = the app's. Creates the app's role
# if missing (the owner needs CREATEROLE or superuser for that; the compose file's owner is the
# image's superuser), with the password sent as a SCRAM verifier computed here, so the clear
# password never reaches the server (nor its log, if the statement fails). An existing role
# keeps its password: change it with ALTER ROLE, then in the app's URL. Then grants it
# audit/sql/grant_app_role.sql, the role name substituted as a quoted identifier, and checks
# that the app's URL logs in and sees the migrated database.
ensure_app_role() {
    "$PYTHON" - <<'PY'
import os
import re
import sys
from pathlib import Path

import django
import environ
import psycopg
from psycopg import sql

django.setup()
from django.db import connection


def fail(message):
    print(f"entrypoint: {message}", file=sys.stderr)
    sys.exit(1)


app = environ.Env.db_url_config(os.environ["APP_DATABASE_URL"])
role = app["USER"]
grants = Path("audit/sql/grant_app_role.sql").read_text()
connection.ensure_connection()
conn = connection.connection  # psycopg, as the owner
try:
    with conn.transaction():
        found = conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", (role,)
        ).fetchone()
        if found is None:
            verifier = conn.pgconn.encrypt_password(
                app["PASSWORD"].encode(), role.encode(), b"scram-sha-256"
            )
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(verifier.decode())
                )
            )
            print(f"entrypoint: created the app's role {role!r}.", file=sys.stderr)
        elif any(found):
            fail(f"the app's role {role!r} is a superuser or bypasses row security: refusing to "
                 "start (it could switch the audit triggers off). Use a plain LOGIN role.")
        else:
            print(f"entrypoint: the app's role {role!r} exists (password left unchanged).",
                  file=sys.stderr)
        role_sql = sql.Identifier(role).as_string(conn)
        conn.execute(re.sub(r"\bminicrm_app\b", lambda _: role_sql, grants))
except psycopg.Error as exc:
    fail(f"could not set up the app's role {role!r} as the owner: "
         f"{' '.join(str(exc).split())}. The owner (MIGRATE_DATABASE_URL) needs CREATEROLE to "
         "create it; or create it yourself (docs/audit.md).")
print(f"entrypoint: granted {role!r} the app's privileges (audit/sql/grant_app_role.sql).",
      file=sys.stderr)

params = {k: v for k, v in app.get("OPTIONS", {}).items() if isinstance(v, str)}
try:
    with psycopg.connect(
        host=app["HOST"] or None, port=app["PORT"] or None, dbname=app["NAME"],
        user=role, password=app["PASSWORD"] or None, connect_timeout=10, **params,
    ) as check:
        check.execute("SELECT 1 FROM django_migrations LIMIT 1")
except psycopg.Error as exc:
    fail(f"the app cannot use its database as {role!r}: {' '.join(str(exc).split())}. "
         "Check DATABASE_URL: same database as MIGRATE_DATABASE_URL, and the role's password "
         f"(an existing role keeps its own: ALTER ROLE {role} PASSWORD ...).")
PY
}

migrate_database() {
    wait_for_database
    log "applying migrations ..."
    local status=0
    "$PYTHON" manage.py migrate --noinput || status=$?
    if [ "$status" -ne 0 ]; then
        log "migrate failed (exit $status): refusing to start. The error is above; the" \
            "database may be partly migrated. Fix the cause and restart (or restore a backup)."
        exit "$status"
    fi
    if [ "${SEED_DEMO:-false}" = "true" ]; then
        "$PYTHON" manage.py seed_demo --if-empty
    fi
    ensure_superuser
}

# Without MIGRATE_DATABASE_URL: one URL for everything, as in development. With it: migrate,
# the app's role and grants, and the superuser as the owner; then the app's URL only, and
# neither the owner's URL nor the database password (compose's env_file passes .env whole)
# stays in the server's environment.
prepare() {
    if [ -z "${MIGRATE_DATABASE_URL:-}" ]; then
        log "MIGRATE_DATABASE_URL is not set: the app connects as the owner of the tables, so" \
            "the audit history is not tamper-proof against it (docs/audit.md)."
        migrate_database
        return 0
    fi
    check_app_role_urls
    local app_database_url="${DATABASE_URL}"
    export DATABASE_URL="$MIGRATE_DATABASE_URL"
    migrate_database
    APP_DATABASE_URL="$app_database_url" ensure_app_role
    export DATABASE_URL="$app_database_url"
    unset MIGRATE_DATABASE_URL POSTGRES_PASSWORD
}

healthcheck() {
    # Host must be one Django accepts: the first ALLOWED_HOSTS entry (".example.com" matches
    # example.com; "*" matches anything). /healthz is exempt from the HTTPS redirect.
    exec "$PYTHON" - <<'PY'
import os
import sys
import urllib.request

hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
host = next((h.lstrip(".") for h in hosts if h != "*"), "localhost")
url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz"
request = urllib.request.Request(url, headers={"Host": host})
try:
    with urllib.request.urlopen(request, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as exc:  # URLError, HTTPError (e.g. 503) and socket errors
    print(f"unhealthy: {url} (Host: {host}): {exc}", file=sys.stderr)
    sys.exit(1)
PY
}

command="${1:-web}"
case "$command" in
    web)
        prepare
        extra=()
        # Gunicorn's worker heartbeat files: on tmpfs, a slow overlay disk cannot stall them.
        if [ -d /dev/shm ]; then extra+=(--worker-tmp-dir /dev/shm); fi
        # Newer gunicorn opens an admin control socket under $HOME by default; nothing here uses
        # it and the container user has no home. Older releases lack the flag, hence the probe.
        gunicorn_help="$("$PYTHON" -m gunicorn --help 2>/dev/null || true)"
        if [[ "$gunicorn_help" == *--no-control-socket* ]]; then extra+=(--no-control-socket); fi
        log "starting gunicorn on ${BIND_HOST:-0.0.0.0}:${PORT:-8000}" \
            "(${WEB_CONCURRENCY:-2} workers x ${GUNICORN_THREADS:-4} threads," \
            "timeout ${GUNICORN_TIMEOUT:-30}s)"
        # Threaded workers: a worker heartbeats while its requests run, so a streamed CSV
        # export of a million rows (about a minute) is not killed at GUNICORN_TIMEOUT as a sync
        # worker would be; the timeout still catches a worker that is stuck. Threads also keep
        # a core busy while another request waits on PostgreSQL.
        # Keep-alive longer than any client's or proxy's idle timeout (nginx upstream: 60 s):
        # the side that closes an idle connection must be the client, or a request sent just
        # as the server closes it is reset (seen under load with gunicorn's 2 s default).
        exec "$PYTHON" -m gunicorn config.wsgi:application \
            --bind "${BIND_HOST:-0.0.0.0}:${PORT:-8000}" \
            --workers "${WEB_CONCURRENCY:-2}" \
            --worker-class gthread \
            --threads "${GUNICORN_THREADS:-4}" \
            --keep-alive "${GUNICORN_KEEPALIVE:-75}" \
            --timeout "${GUNICORN_TIMEOUT:-30}" \
            --access-logfile - \
            "${extra[@]}"
        ;;
    runserver)
        prepare
        exec "$PYTHON" manage.py runserver "${BIND_HOST:-0.0.0.0}:${PORT:-8000}"
        ;;
    prepare)
        prepare
        log "ready."
        ;;
    healthcheck)
        healthcheck
        ;;
    *)
        exec "$@"
        ;;
esac
