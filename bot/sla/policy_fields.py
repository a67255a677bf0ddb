"""Value types of policy files: windows (``09:00-18:00``), durations, deadlines, priorities,
events, days, time zones and shares, each with the message a mistake gets."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field

from bot.model import EventKind
from bot.priority import Priority
from bot.sla.calendar import Window
from bot.sla.closed_days import WEEKDAYS
from bot.sla.durations import WorkingDays, parse_duration

_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
DAY_GROUPS = {
    "weekdays": (0, 1, 2, 3, 4),
    "weekend": (5, 6),
    "daily": (0, 1, 2, 3, 4, 5, 6),
    **{name: (i,) for i, name in enumerate(WEEKDAYS)},
}


def span(text: str) -> Window:
    m = _SPAN.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a window (expected 'HH:MM-HH:MM', e.g. '09:00-18:00')")
    h1, m1, h2, m2 = map(int, m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 1440:
        raise ValueError(f"{text!r}: not a time of day (24:00 is the latest end)")
    if end <= start:
        raise ValueError(f"{text!r}: the window ends before it starts")
    return (start, end)


def _duration(v: Any) -> timedelta:
    if not isinstance(v, str):
        raise ValueError(f"expected a duration string such as '2h' or '30m' (got {v!r})")
    d = parse_duration(v)
    assert isinstance(d, timedelta)
    return d


def _deadline(v: Any) -> timedelta | WorkingDays:
    if not isinstance(v, str):
        raise ValueError(f"expected a duration such as '10wd' or '72h' (got {v!r})")
    return parse_duration(v, allow_working_days=True)


def _priority(v: Any) -> Priority:
    if isinstance(v, Priority):
        return v
    if not isinstance(v, str):
        raise ValueError(f"expected P1, P2, P3 or P4 (got {v!r})")
    return Priority.parse(v)


def _event(v: Any) -> EventKind:
    try:
        return EventKind(v)
    except ValueError:
        known = ", ".join(e.value for e in EventKind)
        raise ValueError(f"unknown event {v!r} (known: {known})") from None


def _window_key(v: str) -> str:
    if v not in DAY_GROUPS:
        raise ValueError(f"{v!r} is not a day (mon..sun, weekdays, weekend, daily)")
    return v


def _span_text(v: str) -> str:
    span(v)
    return v


def _timezone(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {v!r} (expected an IANA name such as "
                         "'Europe/Brussels')") from None
    return v


Duration = Annotated[timedelta, BeforeValidator(_duration)]
WindowKey = Annotated[str, AfterValidator(_window_key)]
Span = Annotated[str, AfterValidator(_span_text)]
TimeZoneName = Annotated[str, AfterValidator(_timezone)]
Deadline = Annotated[timedelta | WorkingDays, BeforeValidator(_deadline)]
PriorityField = Annotated[Priority, BeforeValidator(_priority)]
EventField = Annotated[EventKind, BeforeValidator(_event)]
Share = Annotated[float, Field(gt=0, le=1)]


def _repeat(v: Any) -> timedelta:
    """``"30m"``, or ``"never"``: no repeats (kept as zero until the rule is built)."""
    if isinstance(v, str) and v.strip().lower() in {"never", "none"}:
        return timedelta(0)
    return _duration(v)


def _share(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1:
        raise ValueError(f"expected a share of the target between 0 and 1, e.g. 0.75 (got {v!r});"
                         " the breach itself is `breach = true`")
    return float(v)


Repeat = Annotated[timedelta, BeforeValidator(_repeat)]
ReminderShare = Annotated[float, BeforeValidator(_share)]
