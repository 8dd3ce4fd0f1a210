"""`date_shared`: the `date` filter remembered per value, saying what `date` says."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

FORMATS = ["D j M, H:i", "c", "Y-m-d", "DATETIME_FORMAT", "SHORT_DATE_FORMAT", "e O T"]
# What `date` itself refuses for a date without a time (TypeError).
TIME_FORMATS = {"D j M, H:i", "c", "e O T", "DATETIME_FORMAT"}
UTC = dt.UTC
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def _both(value, fmt: str) -> tuple[str, str]:
    text = f'{{% load crm_ui %}}{{{{ v|date:"{fmt}" }}}}|{{{{ v|date_shared:"{fmt}" }}}}'
    plain, shared = Template(text).render(Context({"v": value})).split("|")
    return plain, shared


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_says_what_the_date_filter_says(fmt) -> None:
    instant = dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Paris moves to summer time
    values = [instant, instant + dt.timedelta(hours=1), dt.date(2026, 12, 3), None]
    for zone in (UTC, PARIS, TOKYO):
        with timezone.override(zone):
            for value in values:
                if type(value) is dt.date and fmt in TIME_FORMATS:
                    continue
                plain, shared = _both(value, fmt)
                assert shared == plain, (zone, value, fmt)


def test_one_instant_in_two_zones_is_two_values() -> None:
    # Equal as instants, so a cache keyed by the value alone would answer Tokyo with Paris.
    instant = dt.datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    with timezone.override(PARIS):
        paris = _both(instant, "D j M, H:i")[1]
    with timezone.override(TOKYO):
        tokyo = _both(instant, "D j M, H:i")[1]
    assert paris == "Thu 3 Dec, 17:00" and tokyo == "Fri 4 Dec, 01:00"


def test_the_language_is_part_of_the_value() -> None:
    day = dt.date(2026, 12, 3)
    with translation.override("en"):
        english = _both(day, "D j M")[1]
    with translation.override("de"):
        german, shared = _both(day, "D j M")
    assert english == "Thu 3 Dec"
    assert shared == german


def test_two_fixed_offset_zones_of_one_offset_are_two_values() -> None:
    cet = dt.timezone(dt.timedelta(hours=1), "CET")
    wat = dt.timezone(dt.timedelta(hours=1), "WAT")
    instant = dt.datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    with timezone.override(cet):
        assert _both(instant, "H:i T")[1] == "17:00 CET"
    with timezone.override(wat):
        assert _both(instant, "H:i T")[1] == "17:00 WAT"


def test_naive_values_and_no_format_say_what_date_says(settings) -> None:
    settings.USE_TZ = False
    naive = dt.datetime(2026, 12, 3, 16, 0)
    for zone in ("Asia/Tokyo", "Europe/Paris"):
        settings.TIME_ZONE = zone
        plain, shared = _both(naive, "H:i T")
        assert shared == plain
    text = "{% load crm_ui %}{{ v|date }}|{{ v|date_shared }}"
    plain, shared = Template(text).render(Context({"v": naive})).split("|")
    assert shared == plain
