"""What people read: instants to the minute in the policy's zone, durations to the minute,
phone numbers grouped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import readable

BRU = ZoneInfo("Europe/Brussels")


@pytest.mark.parametrize(("d", "text"), [
    (timedelta(hours=7, minutes=59, seconds=0.062741), "7h59m"),
    (timedelta(minutes=2, seconds=29.996258), "2m"),
    (timedelta(minutes=2, seconds=30), "3m"),
    (timedelta(hours=2), "2h"),
    (timedelta(hours=1, minutes=59, seconds=45), "2h"),
    (timedelta(hours=177, minutes=30), "177h30m"),
    (timedelta(seconds=12), "under 1m"),
    (timedelta(0), "0m"),
    (-timedelta(minutes=90, seconds=3), "-1h30m"),
])
def test_durations_are_rounded_to_the_minute(d: timedelta, text: str) -> None:
    assert readable.duration(d) == text


def test_instants_are_in_the_zone_to_the_nearest_minute() -> None:
    at = datetime(2026, 11, 23, 8, 59, 59, 900_000, tzinfo=UTC)
    assert readable.when(at, BRU) == "Mon 23 Nov 2026 10:00 CET"
    assert readable.when(at.replace(second=29), BRU, year=False) == "Mon 23 Nov 09:59 CET"
    assert readable.when(None, BRU) == "-"
    # summer time: the zone's abbreviation follows the instant
    assert readable.when(datetime(2027, 6, 1, 7, 0, tzinfo=UTC), BRU) == \
        "Tue 01 Jun 2027 09:00 CEST"


@pytest.mark.parametrize(("raw", "text"), [
    ("+3216000000", "+32 16 00 00 00"),
    ("+32470123456", "+32 470 12 34 56"),
    ("+14155550123", "+1 415-555-0123"),
    ("anonymous", "anonymous"),
    ("", ""),
])
def test_phone_numbers_are_grouped_for_reading(raw: str, text: str) -> None:
    assert readable.phone(raw) == text


def test_recorded_values_read_as_people_write_them() -> None:
    assert readable.value("+3216000000") == "+32 16 00 00 00"
    assert readable.value("2026-11-23T09:00:00.123456+00:00", BRU) == "Mon 23 Nov 2026 10:00 CET"
    assert readable.value("2026-11-23T09:00:00+00:00") == "2026-11-23T09:00:00+00:00"  # no zone
    assert readable.value(["+3216000000", "+32470123456"]) == "+32 16 00 00 00, +32 470 12 34 56"
    assert readable.value(3) == "3"
    # a note that carries an instant (the phone desk's "call CA1 from ... at ...")
    assert readable.value("call CA1 from +3216000000 at 2026-11-23T08:59:59.9+00:00", BRU) == \
        "call CA1 from +32 16 00 00 00 at Mon 23 Nov 2026 10:00 CET"
