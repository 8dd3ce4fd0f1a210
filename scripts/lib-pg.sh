# shellcheck shell=bash
# Shared by backup.sh and restore.sh (sourced, not run): how they reach PostgreSQL.
# Expects the caller to define die().

# libpq understands postgres:// and postgresql://; Django's other spellings are rewritten.
# Sets db_url (used by the sourcing script).
# shellcheck disable=SC2034
pg_normalise_database_url() {
    [ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set"
    case "$DATABASE_URL" in
        postgres://* | postgresql://*) db_url="$DATABASE_URL" ;;
        psql://* | pgsql://*) db_url="postgresql://${DATABASE_URL#*://}" ;;
        *) die "DATABASE_URL must be a postgres:// URL" ;;
    esac
}

# The path of a PostgreSQL client program: from PG_BIN if set, else from PATH.
pg_tool() {
    local path
    if [ -n "${PG_BIN:-}" ]; then path="$PG_BIN/$1"; else path="$(command -v "$1" || true)"; fi
    [ -n "$path" ] && [ -x "$path" ] || die "$1 not found: install the PostgreSQL client or set PG_BIN"
    printf '%s' "$path"
}
