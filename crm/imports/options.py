"""The import_csv command's options in the engine's terms: entity, encoding and delimiter
names, the importing user, --map pairs applied to the suggested mapping, and the services'
validation errors as one line naming the option (crm/management/commands/import_csv.py).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts.models import User
from crm.imports.fields import import_fields, normalise_header
from crm.imports.reader import DELIMITERS
from crm.models import ImportRun
from crm.services.imports import match_choices

ENTITY_NAMES = {
    "company": "company", "contact": "contact", "lead": "lead", "deal": "deal",
    "companies": "company", "contacts": "contact", "leads": "lead", "deals": "deal",
}  # fmt: skip
# The names a user may give -> the reader's (crm/imports/reader.py); the first three are shown.
ENCODING_NAMES = {
    "utf-8": "utf-8-sig", "windows-1252": "cp1252", "latin-1": "latin-1",
    "utf8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "cp1252": "cp1252", "latin1": "latin-1",
    "iso-8859-1": "latin-1",
}  # fmt: skip
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", ",": ",", ";": ";", "\t": "\t"}
# The services' ValidationError keys, as the options a user of the command gives.
OPTION_OF = {"mapping": "--map", "mode": "--mode", "match_on": "--match-on"}
OPTION_OF |= {"on_error": "--on-error", "entity": "ENTITY", "file": "FILE"}
DELIMITER_LABELS = {delimiter: name.lower() for delimiter, name in DELIMITERS.items()}


def command_user(email: str) -> User:
    try:  # case-insensitive, as sign-in is
        user = User.objects.get_by_natural_key(email.strip())
    except User.DoesNotExist:
        raise CommandError(f"--user: no user with the email {email!r}.") from None
    if not user.is_active:
        raise CommandError(f"--user: {user.email} is deactivated.")
    return user


def named_option(value: str, names: dict[str, str], option: str) -> str:
    """The engine's name for an --encoding or --delimiter value ("" when not given)."""
    if value and value not in names:
        raise CommandError(f"{option} {value!r}: choose one of {', '.join(list(names)[:3])}.")
    return names.get(value, "")


def mapping_with(run: ImportRun, pairs: list[str]) -> list[str]:
    """The suggested mapping with each --map applied; a field given to a column by --map
    is taken from the column the suggestion gave it to, so nothing is mapped twice."""
    fields = import_fields(run.entity)
    chosen: dict[int, str] = {}
    for pair in pairs:
        header, equals, name = pair.partition("=")
        if not equals:
            raise CommandError(f'--map {pair!r}: write "HEADER=FIELD" ("HEADER=" ignores it).')
        name = name.strip()
        if name and name not in fields:
            known = ", ".join(fields)
            raise CommandError(f"--map {pair!r}: a {run.entity} has no field {name!r} ({known}).")
        chosen[_column(run.headers, header.strip(), pair)] = name
    taken = set(chosen.values())
    mapping = ["" if name in taken else name for name in run.mapping]
    for index, name in chosen.items():
        mapping[index] = name
    return mapping


def _column(headers: list[str], header: str, pair: str) -> int:
    """The column --map names: its exact header, else the one header spelled the same in
    any letter case and punctuation."""
    if header in headers:
        return headers.index(header)
    near = [i for i, h in enumerate(headers) if normalise_header(h) == normalise_header(header)]
    if len(near) == 1:
        return near[0]
    raise CommandError(
        f"--map {pair!r}: the file has no column {header!r} ({', '.join(headers)})."
    )


def one_line(exc: ValidationError, run: ImportRun | None = None) -> str:
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    parts = []
    for key, messages in exc.message_dict.items():
        text = " ".join(messages)
        if key == "match_on" and run is not None:
            names = ", ".join(name for name, _ in match_choices(run.entity))
            text = f"{text.rstrip('.')} (one of: {names})."
        parts.append(f"{OPTION_OF.get(key, key)}: {text}" if key != "__all__" else text)
    return " ".join(parts)
