"""Durations as policy files write them: ``parse_duration`` and ``format_duration``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.sla.durations import WorkingDays, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", timedelta(hours=2)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("0.5m", timedelta(seconds=30)),
        ("120h", timedelta(hours=120)),
        ("2h15m30s", timedelta(hours=2, minutes=15, seconds=30)),
        ("2H", timedelta(hours=2)),
        (" 2h ", timedelta(hours=2)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
    ],
)
def test_parses_working_time(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    # allowing working days does not change how plain durations read
    assert parse_duration(text, allow_working_days=True) == expected


def test_working_days_only_when_allowed() -> None:
    assert parse_duration("10wd", allow_working_days=True) == WorkingDays(10)
    assert parse_duration("1wd", allow_working_days=True) == WorkingDays(1)
    with pytest.raises(ValueError, match="working days are not allowed here"):
        parse_duration("10wd")


def test_working_days_print_as_written() -> None:
    assert str(WorkingDays(10)) == "10wd"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty duration"),
        ("   ", "empty duration"),
        ("2", "is not a duration"),
        ("h", "is not a duration"),
        ("-2h", "is not a duration"),
        ("+2h", "is not a duration"),
        ("0m", "more than zero"),
        ("0h0m0s", "more than zero"),
        ("2hours", "is not a duration"),
        ("2 hours", "is not a duration"),
        ("1d", "is not a duration"),
        (".5h", "is not a duration"),
        ("1h-30m", "is not a duration"),
    ],
)
def test_rejects_bad_durations(text: str, fragment: str) -> None:
    for allow in (False, True):
        with pytest.raises(ValueError, match=fragment) as exc:
            parse_duration(text, allow_working_days=allow)
        message = str(exc.value)
        if text.strip():
            assert repr(text) in message  # the message quotes what was written
        if fragment != "more than zero":
            assert "'2h'" in message  # ... and shows an example of what is expected


def test_bad_duration_message_offers_wd_only_where_allowed() -> None:
    with pytest.raises(ValueError) as plain:
        parse_duration("2hours")
    with pytest.raises(ValueError) as with_wd:
        parse_duration("2hours", allow_working_days=True)
    assert "wd" not in str(plain.value)
    assert "10wd" in str(with_wd.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1wd2h", "do not mix working days"),
        ("1.5wd", "whole number"),
        ("0.5wd", "whole number"),
        ("0wd", "more than zero"),
    ],
)
def test_rejects_bad_working_days(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_duration(text, allow_working_days=True)
    with pytest.raises(ValueError, match="not allowed"):
        parse_duration(text)


def test_rejects_working_days_mixed_with_zero_hours() -> None:
    with pytest.raises(ValueError, match="do not mix"):
        parse_duration("1wd0h", allow_working_days=True)


def test_rejects_repeated_unit() -> None:
    with pytest.raises(ValueError):
        parse_duration("1h1h")


def test_rejects_duration_that_rounds_to_zero() -> None:
    with pytest.raises(ValueError, match="more than zero"):
        parse_duration("0.0000001s")


def test_huge_duration_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_duration("99999999999h")


@pytest.mark.parametrize(
    ("d", "text"),
    [
        (timedelta(hours=2), "2h"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(seconds=45), "45s"),
        (timedelta(hours=1, seconds=5), "1h5s"),
        (timedelta(days=5), "120h"),
        (timedelta(minutes=5), "5m"),
        (timedelta(0), "0m"),
        (timedelta(hours=-1, minutes=-30), "-1h30m"),
    ],
)
def test_format(d: timedelta, text: str) -> None:
    assert format_duration(d) == text


@pytest.mark.parametrize(
    "text", ["2h", "90m", "1h30m", "45s", "1.5h", "8h", "120h", "2h15m30s", "1m1s", "0.5m"]
)
def test_format_round_trips(text: str) -> None:
    d = parse_duration(text)
    assert isinstance(d, timedelta)
    shown = format_duration(d)
    assert parse_duration(shown) == d
    assert format_duration(parse_duration(shown)) == shown  # shortest form is a fixed point


def test_format_is_exact_for_fractional_seconds() -> None:
    d = parse_duration("1.5s")
    assert isinstance(d, timedelta)
    assert parse_duration(format_duration(d)) == d
