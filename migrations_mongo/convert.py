"""Conversions of NextCRM's loosely typed values into minicrm's columns (schema doc, section 6).

Each function takes a raw BSON value and returns the column's value, or raises `Unconvertible`
with the reason, which the caller logs and answers by keeping the raw value in the leftovers.
They are pure, so the validator applies the very same conversions to the source when it
compares a sample field by field.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from bson import Decimal128, ObjectId
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

_email = EmailValidator()
_url = URLValidator()
_LOOSE_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.I)


class Unconvertible(ValueError):
    """The value cannot be stored in the column; the message says why."""


def blank(value: Any) -> bool:
    """None, or an empty string, list or object. By type, not `==`: this runs for every field
    of every document, and comparing an ObjectId with "" costs a method call each time."""
    if value is None:
        return True
    kind = type(value)
    return (kind is str or kind is list or kind is dict) and not value


def text(value: Any, max_length: int | None = None) -> str:
    """Strings as they are; numbers and booleans as their text. NUL bytes, which PostgreSQL
    text cannot hold, are dropped. Too long is refused rather than cut, so nothing is lost."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, (int, float, Decimal)):
        value = str(value)
    elif not isinstance(value, str):
        raise Unconvertible(f"expected text, got {type(value).__name__}")
    value = value.replace("\x00", "").strip()
    if max_length is not None and len(value) > max_length:
        raise Unconvertible(f"longer than {max_length} characters ({len(value)})")
    return value


def email(value: Any) -> str:
    value = text(value, 254)
    if not value:
        return ""
    try:
        _email(value)
    except ValidationError:
        raise Unconvertible("not a valid email address") from None
    return value


def url(value: Any, max_length: int = 500) -> str:
    """A URL; a bare domain such as "example.com" gets https:// (NextCRM never checked)."""
    value = text(value, max_length)
    if not value:
        return ""
    if "://" not in value and re.fullmatch(r"[\w.-]+\.[a-z]{2,}(/\S*)?", value, re.I):
        value = f"https://{value}"
    # Django's validator wants a public-looking host; an intranet file server
    # (http://files/x.pdf) is a real address in a self-hosted CRM, so any http(s) URL without
    # spaces is taken.
    if not _LOOSE_URL.match(value):
        try:
            _url(value)
        except ValidationError:
            raise Unconvertible("not a valid URL") from None
    if len(value) > max_length:
        raise Unconvertible(f"longer than {max_length} characters")
    return value


def domain_of(website: str) -> str:
    """example.com for https://www.example.com/about (companies are matched on domain)."""
    if not website:
        return ""
    host = re.sub(r"^[a-z]+://", "", website.lower()).split("/")[0].split(":")[0]
    return host.removeprefix("www.")[:255]


def timestamp(value: Any) -> dt.datetime | None:
    """BSON dates are UTC instants; old documents may carry ISO strings or epoch numbers."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise Unconvertible("not a date") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Epoch milliseconds (JavaScript's Date.now()); seconds would be before 1971.
        try:
            return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise Unconvertible("not a date in range") from None
    raise Unconvertible(f"expected a date, got {type(value).__name__}")


def date(value: Any) -> dt.date | None:
    """A calendar date: the UTC day of a BSON date (Prisma's @db.Date stores midnight UTC)."""
    moment = timestamp(value)
    return moment.date() if moment else None


_DMY = re.compile(r"^\s*(\d{1,2})[./-](\d{1,2})[./-](\d{4})\s*$")


def birthday(value: Any) -> dt.date | None:
    """crm_Contacts.birthday is text: the create form concatenates day/month/year."""
    if blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        match = _DMY.match(value)
        try:
            if match:
                day, month, year = (int(part) for part in match.groups())
                return dt.date(year, month, day)
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise Unconvertible("not a day/month/year date")


def decimal(value: Any, *, max_digits: int = 18, places: int = 2) -> Decimal | None:
    """Money and revenue: numbers, or text such as "1,200,000", "12 000,50" or "$5000"."""
    if blank(value):
        return None
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    if isinstance(value, bool):
        raise Unconvertible("expected a number, got a boolean")
    if isinstance(value, (int, float, Decimal)):
        number = Decimal(str(value))
    elif isinstance(value, str):
        number = _parse_number_text(value)
    else:
        raise Unconvertible(f"expected a number, got {type(value).__name__}")
    if not number.is_finite():
        raise Unconvertible("not a finite number")
    if number < 0:
        raise Unconvertible("negative")
    number = number.quantize(Decimal(1).scaleb(-places))
    if len(number.as_tuple().digits) > max_digits:
        raise Unconvertible(f"more than {max_digits} digits")
    return number


def _parse_number_text(value: str) -> Decimal:
    cleaned = re.sub(r"[\s\u00a0$€£¥]|[A-Za-z]{3}$|^[A-Za-z]{3}", "", value.strip())
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", cleaned):  # 1,200,000.50
        cleaned = cleaned.replace(",", "")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", cleaned):  # 1.200.000,50
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d+,\d{1,2}", cleaned):  # 1234,50
        cleaned = cleaned.replace(",", ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise Unconvertible("not a number") from None


def integer(value: Any, *, minimum: int | None = 0, maximum: int = 2**31 - 1) -> int | None:
    """Whole numbers, also from text ("250"); ranges like "50-100" are refused, not guessed."""
    if blank(value):
        return None
    if isinstance(value, bool):
        raise Unconvertible("expected a whole number")
    if isinstance(value, Decimal128):
        value = str(value.to_decimal())
    if isinstance(value, float):
        if not value.is_integer():
            raise Unconvertible("not a whole number")
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str):
        # The sign first: decimal() refuses negatives (money), positions may be negative.
        text_value = value.strip()
        negative = text_value.startswith("-")
        parsed = decimal(text_value.lstrip("-"), max_digits=21)
        if parsed is None:
            raise Unconvertible("expected a whole number")
        if parsed != parsed.to_integral_value():
            raise Unconvertible("not a whole number")
        number = -int(parsed) if negative else int(parsed)
    else:
        raise Unconvertible(f"expected a whole number, got {type(value).__name__}")
    if (minimum is not None and number < minimum) or number > maximum:
        raise Unconvertible("out of range")
    return number


_TRUE = {"true", "yes", "1", "active", "y", "on"}
_FALSE = {"false", "no", "0", "inactive", "n", "off"}


def boolean(value: Any) -> bool | None:
    """Booleans, and the strings old documents stored instead ("Active", "true")."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise Unconvertible("expected yes or no")


def choice(value: Any, mapping: dict[str, str]) -> str | None:
    """A free-string enum (Q8): matched on its letters only, so "In Progress", "in_progress"
    and "IN-PROGRESS" are one value. None for a blank value; Unconvertible for an unknown one."""
    if blank(value):
        return None
    if not isinstance(value, str):
        raise Unconvertible(f"expected text, got {type(value).__name__}")
    key = re.sub(r"[^a-z0-9]", "", value.lower())
    if key not in mapping:
        raise Unconvertible("not a known value")
    return mapping[key]


_CURRENCY_SIGNS = {
    "€": "EUR",
    "$": "USD",
    "us$": "USD",
    "£": "GBP",
    "¥": "JPY",
    "kč": "CZK",
    "kc": "CZK",
    "zł": "PLN",
    "₴": "UAH",
    "₹": "INR",
    "chf": "CHF",
}


def currency(value: Any) -> str | None:
    """An ISO 4217 code from free text ("usd", "€", "Kč"); None when blank."""
    if blank(value):
        return None
    if not isinstance(value, str):
        raise Unconvertible("expected a currency code")
    raw = value.strip()
    code = _CURRENCY_SIGNS.get(raw.lower(), raw.upper())
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise Unconvertible("not a currency code")
    return code


def object_id(value: Any) -> str | None:
    """The 24-hex form of a reference (ObjectId, or the string old documents kept)."""
    if blank(value):
        return None
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, str) and ObjectId.is_valid(value.strip()):
        return value.strip().lower()
    raise Unconvertible("not an ObjectId")


def object_ids(value: Any) -> list[str]:
    """The references of an ObjectId array, in order, each once; invalid entries raise."""
    valid, invalid = split_object_ids(value)
    if invalid:
        raise Unconvertible("not an ObjectId")
    return valid


def split_object_ids(value: Any) -> tuple[list[str], list[Any]]:
    """An ObjectId array's valid references (in order, each once) and its invalid entries, so
    that one bad entry costs only itself."""
    if blank(value):
        return [], []
    items = value if isinstance(value, list) else [value]
    seen: dict[str, None] = {}
    invalid = []
    for item in items:
        try:
            converted = object_id(item)
        except Unconvertible:
            invalid.append(item)
            continue
        if converted:
            seen.setdefault(converted, None)
    return list(seen), invalid


def string_list(value: Any, *, max_length: int) -> list[str]:
    """Tags: a list of strings (Json fields may hold one, or a string, or an object)."""
    if blank(value):
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise Unconvertible("expected a list of text")
    cleaned = [text(item) for item in items]
    if any(len(item) > max_length for item in cleaned):
        raise Unconvertible(f"a tag is longer than {max_length} characters")
    return list(dict.fromkeys(item for item in cleaned if item))


def creation_time(oid: ObjectId) -> dt.datetime:
    """Q14: an ObjectId carries the second it was made, the best guess for a missing date."""
    return oid.generation_time
