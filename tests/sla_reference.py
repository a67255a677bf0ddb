"""A slow, obviously-correct reference for the SLA engine's working-time arithmetic.

It shares nothing with ``bot.sla.calendar`` but the Calendar's *specification* (its zone, its weekly
windows and its ``ClosedDays`` spec): no interval table, no running totals, no float timestamps.

- Closed days are recomputed from the spec: Belgian public holidays from the statutory list with
  Easter from ``dateutil`` (a different algorithm than the engine's), named days from their fields,
  extra dates as given. A named day moved across a year boundary (1 Jan on a Saturday observed on
  Fri 31 Dec) is found because every year around a date is expanded.
- A window ``(s, e)`` of local date ``d`` is the real interval from the wall time ``d + s minutes``
  to ``d + e minutes`` (``e == 1440`` is the next local midnight). A wall time maps to the
  *earliest instant whose local wall clock reads at least that time*: the ordinary instant when
  the wall time exists, the first occurrence when it is repeated (autumn), and the transition
  instant, just after the gap, when it does not exist (spring). All arithmetic is done in UTC, so
  a DST day's window counts the real time that elapses in it.
- ``ref_working_time`` walks local dates and sums the overlap of each window with ``[a, b)``;
  ``ref_add`` walks forward and subtracts each window's contribution until the remainder fits.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from dateutil.easter import easter

from bot.sla.calendar import Calendar
from bot.sla.closed_days import ClosedDays, NamedDay

ONE_DAY = timedelta(days=1)
_MAX_DAYS = 366 * 60  # ref_add gives up after 60 years


# -- closed days, recomputed from the spec ------------------------------------------------------


def belgian_public_holidays(year: int) -> set[date]:
    """Belgian public holidays, Easter Sunday and Whit Sunday included (``holidays`` lists them)."""
    e = easter(year)
    fixed = [(1, 1), (5, 1), (7, 21), (8, 15), (11, 1), (11, 11), (12, 25)]
    easter_based = [0, 1, 39, 49, 50]  # Easter, Easter Monday, Ascension, Whit Sunday, Whit Monday
    return {date(year, m, d) for m, d in fixed} | {e + timedelta(days=k) for k in easter_based}


def _named_day(nd: NamedDay, year: int) -> date | None:
    if nd.easter_offset is not None:
        d = easter(year) + timedelta(days=nd.easter_offset)
    else:
        assert nd.month is not None and nd.day is not None
        if (nd.month, nd.day) == (2, 29) and not calendar.isleap(year):
            return None  # a 29 February day only exists in leap years
        d = date(year, nd.month, nd.day)
    for weekday, shift in nd.move:
        if d.weekday() == weekday:
            return d + timedelta(days=shift)
    return d


@lru_cache(maxsize=256)
def _closed_near(spec: ClosedDays, year: int) -> frozenset[date]:
    """Closed dates of the years ``year - 1 .. year + 1`` (a superset of what ``year`` needs)."""
    out: set[date] = set()
    for y in (year - 1, year, year + 1):
        if spec.country == "BE" and spec.subdivision is None:
            out |= belgian_public_holidays(y)
        elif spec.country:
            out |= set(holidays.country_holidays(spec.country, subdiv=spec.subdivision, years=y))
        out |= {d for nd in spec.named if (d := _named_day(nd, y)) is not None}
    out |= set(spec.extra)
    return frozenset(out)


def ref_is_closed(spec: ClosedDays, d: date) -> bool:
    return d in _closed_near(spec, d.year)


def ref_closed_in_year(spec: ClosedDays, year: int) -> set[date]:
    return {d for d in _closed_near(spec, year) if d.year == year}


# -- wall time to instants ----------------------------------------------------------------------


def wall_to_utc(tz: ZoneInfo, wall: datetime) -> datetime:
    """The earliest instant whose local wall-clock time in ``tz`` is at least the naive ``wall``."""
    assert wall.tzinfo is None
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        # exists; for a repeated wall time, fold=0 is the first occurrence (the earlier instant)
        other = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
        return min(first, other)
    # in a spring-forward gap: the wall clock jumps over ``wall`` between these two instants
    lo = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)  # reads before the gap
    hi = first  # reads after the gap
    lo, hi = min(lo, hi), max(lo, hi)
    assert lo.astimezone(tz).replace(tzinfo=None) < wall < hi.astimezone(tz).replace(tzinfo=None)
    step = timedelta(seconds=1)
    while hi - lo > step:  # zone transitions fall on whole seconds
        mid = lo + (hi - lo) // 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            mid = lo + step
        if mid.astimezone(tz).replace(tzinfo=None) < wall:
            lo = mid
        else:
            hi = mid
    return hi


def ref_day_windows(cal: Calendar, d: date) -> list[tuple[datetime, datetime]]:
    """The service windows of local date ``d`` as UTC intervals (empty on closed days)."""
    if ref_is_closed(cal.closed, d):
        return []
    midnight = datetime.combine(d, time())
    out = []
    for s, e in cal.windows.get(d.weekday(), ()):
        a = wall_to_utc(cal.tz, midnight + timedelta(minutes=s))
        b = wall_to_utc(cal.tz, midnight + timedelta(minutes=e))
        if b > a:
            out.append((a, b))
    return out


def _windows_from(cal: Calendar, first: date) -> Iterator[tuple[datetime, datetime]]:
    d = first
    for _ in range(_MAX_DAYS):
        yield from ref_day_windows(cal, d)
        d += ONE_DAY
    raise ValueError("no working time within 60 years")


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"aware datetime required, got {dt!r}")
    return dt.astimezone(UTC)


# -- the two operations -------------------------------------------------------------------------


def ref_working_time(cal: Calendar, a: datetime, b: datetime) -> timedelta:
    """The part of ``[a, b)`` inside service windows on working days."""
    ua, ub = _utc(a), _utc(b)
    if ub <= ua:
        return timedelta(0)
    total = timedelta(0)
    d = ua.astimezone(cal.tz).date() - ONE_DAY
    last = ub.astimezone(cal.tz).date() + ONE_DAY
    while d <= last:
        for ws, we in ref_day_windows(cal, d):
            lo, hi = max(ws, ua), min(we, ub)
            if hi > lo:
                total += hi - lo
        d += ONE_DAY
    return total


def ref_add(cal: Calendar, start: datetime, duration: timedelta) -> datetime:
    """The earliest ``t >= start`` with ``working_time(start, t) == duration``, in cal.tz."""
    us = _utc(start)
    if duration < timedelta(0):
        raise ValueError("negative duration")
    if duration == timedelta(0):
        return us.astimezone(cal.tz)
    remaining = duration
    for ws, we in _windows_from(cal, us.astimezone(cal.tz).date() - ONE_DAY):
        lo = max(ws, us)
        if we <= lo:
            continue
        if remaining <= we - lo:  # fits: at exact closing time when it equals what is left
            return (lo + remaining).astimezone(cal.tz)
        remaining -= we - lo
    raise AssertionError("unreachable")


# -- the calendars the tests and the benchmark use ------------------------------------------------

WEEKDAYS_0_4 = range(5)

SPINPANEL_DAYS = (
    NamedDay("New Year's Day", month=1, day=1),
    NamedDay("Easter Monday", easter_offset=1),
    NamedDay("King's Day", month=4, day=27, move=((6, -1),)),
    NamedDay("Ascension Day", easter_offset=39),
    NamedDay("Whit Monday", easter_offset=50),
    NamedDay("Christmas Day", month=12, day=25),
    NamedDay("Second Day of Christmas", month=12, day=26),
)

UK_LIKE_DAYS = (
    NamedDay("Good Friday", easter_offset=-2),
    NamedDay("Easter Monday", easter_offset=1),
    NamedDay("Christmas Day", month=12, day=25, move=((5, 2), (6, 2))),
    NamedDay("Boxing Day", month=12, day=26, move=((5, 2), (6, 2))),
    NamedDay("Leap Day", month=2, day=29),  # closed in 2024 and 2028 only
)

# observed on the Friday before / Monday after a weekend: 1 Jan 2028 (a Saturday) closes Fri 31 Dec
US_LIKE_DAYS = (
    NamedDay("New Year's Day", month=1, day=1, move=((5, -1), (6, 1))),
    NamedDay("Independence Day", month=7, day=4, move=((5, -1), (6, 1))),
    NamedDay("Christmas Day", month=12, day=25, move=((5, -1), (6, 1))),
)


def panenco_like() -> Calendar:
    """Mon-Fri 09:00-18:00 Europe/Brussels, Belgian public holidays."""
    return Calendar("Europe/Brussels", {wd: [(540, 1080)] for wd in WEEKDAYS_0_4},
                    ClosedDays(country="BE"))


def spinpanel_like() -> Calendar:
    """Mon-Fri 08:30-17:00 Europe/Amsterdam, exactly seven named Dutch days."""
    return Calendar("Europe/Amsterdam", {wd: [(510, 1020)] for wd in WEEKDAYS_0_4},
                    ClosedDays(named=SPINPANEL_DAYS))


def brussels_24_7() -> Calendar:
    """Always open in Europe/Brussels: DST days last 23 and 25 hours."""
    return Calendar("Europe/Brussels", {wd: [(0, 1440)] for wd in range(7)})


def utc_24_7_be() -> Calendar:
    """Always open in UTC except on Belgian holidays (closed days on weekends matter here)."""
    return Calendar("UTC", {wd: [(0, 1440)] for wd in range(7)}, ClosedDays(country="BE"))


def london_split() -> Calendar:
    """08:00-12:00 and 13:00-17:00 Mon-Fri plus Sat 10:00-12:00 in London, moved UK-like days."""
    windows: dict[int, list[tuple[int, int]]] = {wd: [(480, 720), (780, 1020)]
                                                 for wd in WEEKDAYS_0_4}
    windows[5] = [(600, 720)]
    return Calendar("Europe/London", windows,
                    ClosedDays(named=UK_LIKE_DAYS, extra={date(2026, 6, 12): "office move"}))


def new_york_nights() -> Calendar:
    """00:00-04:00 and 20:00-24:00 daily in New York: the 02:00 DST change is inside a window."""
    return Calendar("America/New_York", {wd: [(0, 240), (1200, 1440)] for wd in range(7)},
                    ClosedDays(named=US_LIKE_DAYS, extra={date(2026, 11, 26): "Thanksgiving"}))


def brussels_dst_edges() -> Calendar:
    """Daily windows that start or end exactly at Brussels' DST hours (02:00 and 03:00)."""
    return Calendar("Europe/Brussels",
                    {wd: [(0, 120), (180, 300), (1380, 1440)] for wd in range(7)})


def brussels_gap_edges() -> Calendar:
    """Windows with edges inside Brussels' spring-forward gap (02:30) and repeated hour (02:15).

    On the last Sunday of March 02:30 does not exist: the window 02:30-05:00 starts just after the
    gap, at 03:00 CEST. On the last Sunday of October 02:15 is lived twice: the first one counts.
    """
    return Calendar("Europe/Brussels",
                    {wd: [(0, 135), (150, 300), (1200, 1440)] for wd in range(7)})
