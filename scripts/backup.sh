#!/usr/bin/env bash
# Back up minicrm: the database (pg_dump custom format) and the uploaded media, as one unit.
#
# Usage: scripts/backup.sh [--dir DIR] [--keep N] [--no-media]
#
# Environment:
#   DATABASE_URL  the database to dump, postgres://user:password@host:port/name (required)
#   MEDIA_ROOT    the uploads directory to archive (required unless --no-media)
#   BACKUP_DIR    where backups go (default ./backups; --dir overrides)
#   BACKUP_KEEP   how many backups to keep, newest first (default 30; --keep overrides; 0 = all)
#   PG_BIN        directory holding pg_dump and pg_restore (default: found on PATH). pg_dump
#                 must be at least the server's major version.
#
# Each run writes DIR/minicrm-YYYYMMDDTHHMMSSZ/ with database.dump, media.tar.gz and SHA256SUMS,
# and prints that path. It is assembled under a hidden ".partial" name and renamed into place
# only once complete and verified, so a failed or interrupted run leaves nothing that looks like
# a backup (a leftover .partial from a killed run is removed by the next run). Old backups are
# rotated only after a successful one. Restore with scripts/restore.sh.
set -Eeuo pipefail
export LC_ALL=C
umask 077 # backups hold every customer record: readable by their owner only

die() {
    printf 'backup: error: %s\n' "$*" >&2
    exit 1
}
log() { printf 'backup: %s\n' "$*" >&2; }

backup_dir="${BACKUP_DIR:-./backups}"
keep="${BACKUP_KEEP:-30}"
with_media=true
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) backup_dir="${2:?--dir needs a directory}"; shift 2 ;;
        --keep) keep="${2:?--keep needs a number}"; shift 2 ;;
        --no-media) with_media=false; shift ;;
        -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

[[ "$keep" =~ ^[0-9]+$ ]] || die "--keep / BACKUP_KEEP must be a whole number, not '$keep'"
# shellcheck source-path=SCRIPTDIR source=lib-pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-pg.sh"
pg_normalise_database_url
if [ "$with_media" = true ]; then
    [ -n "${MEDIA_ROOT:-}" ] || die "MEDIA_ROOT is not set (or pass --no-media to skip the files)"
    [ -d "$MEDIA_ROOT" ] || die "MEDIA_ROOT $MEDIA_ROOT is not a directory"
fi

pg_dump="$(pg_tool pg_dump)"
pg_restore="$(pg_tool pg_restore)"

mkdir -p "$backup_dir"
backup_dir="$(cd "$backup_dir" && pwd)"

# One backup at a time per directory (cron plus a manual run must not rotate each other away).
if command -v flock >/dev/null; then
    exec 9<"$backup_dir" # the lock is on the directory itself: no lock file to leave behind
    flock -n 9 || die "another backup is running in $backup_dir"
fi
rm -rf "$backup_dir"/.minicrm-*.partial

name="minicrm-$(date -u +%Y%m%dT%H%M%SZ)"
final="$backup_dir/$name"
work="$backup_dir/.$name.partial"
[ ! -e "$final" ] || die "$final already exists (two backups in one second?)"

cleanup() {
    if [ -d "$work" ]; then
        rm -rf "$work"
        log "failed: removed the incomplete backup; nothing was written"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$work"

log "dumping the database ..."
"$pg_dump" --format=custom --no-password --file="$work/database.dump" --dbname="$db_url"
# Reading the table of contents back catches a truncated or unreadable archive now, not on the
# day it is needed.
"$pg_restore" --list "$work/database.dump" >/dev/null

files=(database.dump)
if [ "$with_media" = true ]; then
    log "archiving media from $MEDIA_ROOT ..."
    tar -C "$MEDIA_ROOT" -czf "$work/media.tar.gz" .
    files+=(media.tar.gz)
fi
(cd "$work" && sha256sum "${files[@]}" >SHA256SUMS)

mv "$work" "$final"
log "wrote $final"

if [ "$keep" -gt 0 ]; then
    shopt -s nullglob
    # Names sort in time order; only directories this script names are ever deleted.
    backups=("$backup_dir"/minicrm-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z)
    excess=$((${#backups[@]} - keep))
    for ((i = 0; i < excess; i++)); do
        log "rotating out ${backups[i]##*/}"
        rm -rf "${backups[i]}"
    done
fi
printf '%s\n' "$final"
