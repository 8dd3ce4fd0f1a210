"""What the audit log covers, and which values never reach it.

Everything here is an explicit list on purpose: a table is audited because it is named (or
belongs to an app named) here, and a value is masked because its table and column are named
here, never because a name "looks secret". `audit.triggers.sync_audit_triggers()` turns these
lists into trigger arguments; changing a list takes effect at the next `manage.py migrate`.
"""

from __future__ import annotations

# Every table of these apps is audited, including their many-to-many link tables.
AUDITED_APPS: tuple[str, ...] = ("crm",)

# Single models audited outside those apps (with their auto-created link tables, so group and
# permission grants of a user are recorded too). A label whose app is not installed is skipped.
AUDITED_MODELS: tuple[str, ...] = (
    "accounts.User",
    # allauth.mfa: enrolling or removing a second factor is a security event.
    "mfa.Authenticator",
)

# Models of those apps left out, each with its reason. Only derived tables belong here: a table
# whose every row follows from audited rows (so its history is already on record).
NOT_AUDITED_MODELS: tuple[str, ...] = (
    # Open-deal counts per stage, written only by triggers on crm_deal (crm/models/stage_totals).
    "crm.DealStageTotal",
    # The search dictionary, written only by triggers on the searched tables
    # (crm/models/search_words).
    "crm.SearchWord",
    # CSV import bookkeeping (crm/models/imports.py): the records an import writes are audited
    # row by row, each entry carrying the import's id; its own progress counters and per-row
    # outcomes would add a hundred thousand entries that say nothing new.
    "crm.ImportRun",
    "crm.ImportRow",
    "crm.ImportMapping",
)

# Table -> columns whose values are replaced by MASK in the audit log. The change itself is
# still recorded (the column is listed in changed_fields), its value never is.
SECRET_COLUMNS: dict[str, tuple[str, ...]] = {
    # Django's password hash.
    "accounts_user": ("password",),
    # allauth.mfa: `data` holds the TOTP secret, recovery-code seed and WebAuthn credential.
    "mfa_authenticator": ("data",),
}

MASK = "[masked]"

# Management command options recorded as MASK in an entry's context (command -> option dests):
# command arguments land in every row a command writes, so credentials given on the command
# line must not.
SECRET_COMMAND_OPTIONS: dict[str, tuple[str, ...]] = {
    # `--mongo-uri mongodb://user:password@host/db` (the MongoDB import, issue 6).
    "migrate_from_mongo": ("mongo_uri",),
    "validate_mongo_migration": ("mongo_uri",),
}
