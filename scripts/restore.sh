#!/usr/bin/env bash
# Restore a backup written by scripts/backup.sh: the database, then the media files.
#
# Usage: scripts/restore.sh [--force] [--no-media] BACKUP
#   BACKUP      a backup directory, e.g. backups/minicrm-20250101T020000Z
#   --force     replace a database that already has tables and media that already has files
#               (without it, anything non-empty is refused and nothing is touched)
#   --no-media  restore the database only
#
# Environment:
#   DATABASE_URL  the database to restore into (required); it must exist
#   MEDIA_ROOT    the uploads directory to restore into (required unless --no-media)
#   PG_BIN        directory holding pg_restore and psql (default: found on PATH)
#
# Stop the app first (docker compose stop web). The database part is one transaction,
# including the wipe under --force: if anything fails, the database is left as it was.
# Objects are owned by the restoring user (--no-owner), so a dump restores under any role.
# After a restore, starting the app applies any migrations newer than the backup.
set -Eeuo pipefail
export LC_ALL=C

die() {
    printf 'restore: error: %s\n' "$*" >&2
    exit 1
}
log() { printf 'restore: %s\n' "$*" >&2; }

force=false
with_media=true
backup=""
while [ $# -gt 0 ]; do
    case "$1" in
        --force) force=true; shift ;;
        --no-media) with_media=false; shift ;;
        -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        -*) die "unknown option: $1 (see --help)" ;;
        *)
            [ -z "$backup" ] || die "one backup at a time (got '$backup' and '$1')"
            backup="$1"; shift ;;
    esac
done

[ -n "$backup" ] || die "which backup? usage: restore.sh [--force] [--no-media] BACKUP"
[ -d "$backup" ] || die "$backup is not a directory"
# shellcheck source-path=SCRIPTDIR source=lib-pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-pg.sh"
pg_normalise_database_url
if [ "$with_media" = true ]; then
    [ -n "${MEDIA_ROOT:-}" ] || die "MEDIA_ROOT is not set (or pass --no-media)"
fi

pg_restore="$(pg_tool pg_restore)"
psql="$(pg_tool psql)"
psql_cmd=("$psql" -X -q -t -A --no-password -v ON_ERROR_STOP=1 --dbname="$db_url")

# 1. The backup is complete and intact: checked before anything is touched.
[ -f "$backup/SHA256SUMS" ] || die "$backup has no SHA256SUMS: not a complete backup"
[ -f "$backup/database.dump" ] || die "$backup has no database.dump"
(cd "$backup" && sha256sum --check --quiet SHA256SUMS) || die "$backup fails its checksums"
"$pg_restore" --list "$backup/database.dump" >/dev/null || die "database.dump is unreadable"
if [ "$with_media" = true ]; then
    [ -f "$backup/media.tar.gz" ] || die "$backup has no media.tar.gz (use --no-media?)"
    tar -tzf "$backup/media.tar.gz" >/dev/null || die "media.tar.gz is unreadable"
fi

# 2. The targets are empty, or --force says to replace them.
tables="$("${psql_cmd[@]}" -c "
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'")" ||
    die "cannot query the database (is DATABASE_URL right and the server up?)"
if [ "$tables" -gt 0 ] && [ "$force" != true ]; then
    die "the database has $tables tables/sequences already; refusing to overwrite it." \
        "Restore into an empty database, or pass --force to replace its contents."
fi
if [ "$with_media" = true ] && [ -d "$MEDIA_ROOT" ] && [ "$force" != true ] &&
    [ -n "$(find "$MEDIA_ROOT" -mindepth 1 -print -quit)" ]; then
    die "MEDIA_ROOT $MEDIA_ROOT is not empty; refusing to overwrite it (pass --force to replace)."
fi

# 3. The database, in one transaction: the SQL script pg_restore generates, piped into psql
# between BEGIN and COMMIT. If pg_restore fails midway, COMMIT is never sent and psql's exit
# rolls everything back; ON_ERROR_STOP does the same for a failing statement.
wipe_sql="
DO \$wipe\$
DECLARE s name;
BEGIN
    FOR s IN SELECT nspname FROM pg_namespace
             WHERE nspname <> 'information_schema' AND nspname NOT LIKE 'pg\_%'
    LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', s);
    END LOOP;
END
\$wipe\$;
CREATE SCHEMA public;"
log "restoring the database from $backup/database.dump ..."
{
    printf 'BEGIN;\nSET LOCAL client_min_messages = warning;\n'
    if [ "$force" = true ]; then printf '%s\n' "$wipe_sql"; fi
    "$pg_restore" --no-owner --no-privileges --file=- "$backup/database.dump" || exit 1
    printf 'COMMIT;\n'
} | "${psql_cmd[@]}" >/dev/null || die "database restore failed; the database is unchanged"

# 4. The media files. Checked readable above; what can still fail here is the disk.
if [ "$with_media" = true ]; then
    log "restoring media into $MEDIA_ROOT ..."
    mkdir -p "$MEDIA_ROOT"
    if [ "$force" = true ]; then find "$MEDIA_ROOT" -mindepth 1 -delete; fi
    tar -C "$MEDIA_ROOT" -xzf "$backup/media.tar.gz" ||
        die "extracting media failed (the database is restored); fix the cause and rerun with --force"
fi
log "restored $backup. Start the app: it applies any migrations newer than the backup."
