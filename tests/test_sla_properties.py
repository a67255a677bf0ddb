"""Property tests: the SLA engine against the slow reference in ``tests/sla_reference.py``.

Instants are drawn over 2024-2028, biased toward year ends, DST change days, closed days and
window boundaries (exactly, and a microsecond or a second either side), and presented in several
zones. Durations run from 1 µs to 500 h, biased toward multiples of half an hour and of the
windows' lengths, so that targets often land exactly on a closing time.

Instants are compared in UTC: two aware datetimes with the same tzinfo compare by wall time and
ignore ``fold``, which would hide an error of an hour in the repeated autumn hour.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.sla.calendar import Calendar
from tests.sla_reference import (
    brussels_24_7,
    brussels_dst_edges,
    brussels_gap_edges,
    london_split,
    new_york_nights,
    panenco_like,
    ref_add,
    ref_closed_in_year,
    ref_working_time,
    spinpanel_like,
    utc_24_7_be,
)

CALENDARS: dict[str, Callable[[], Calendar]] = {
    "panenco-like": panenco_like,
    "spinpanel-like": spinpanel_like,
    "brussels-24/7": brussels_24_7,
    "utc-24/7-BE-holidays": utc_24_7_be,
    "london-split": london_split,
    "new-york-nights": new_york_nights,
    "brussels-dst-edges": brussels_dst_edges,
    "brussels-gap-edges": brussels_gap_edges,
}
_BUILT: dict[str, Calendar] = {}


def calendar(name: str) -> Calendar:
    if name not in _BUILT:
        _BUILT[name] = CALENDARS[name]()
    return _BUILT[name]


NAMES = list(CALENDARS)
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

US = timedelta(microseconds=1)
LO = datetime(2024, 1, 1, tzinfo=UTC)
HI = datetime(2029, 1, 1, tzinfo=UTC)
ZONES = [ZoneInfo("UTC"), ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Los_Angeles"),
         ZoneInfo("Asia/Kolkata")]


# -- strategies -----------------------------------------------------------------------------------


def _last_sunday(year: int, month: int) -> date:
    d = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return d - timedelta(days=(d.weekday() - 6) % 7)


def _nth_sunday(year: int, month: int, n: int) -> date:
    d = date(year, month, 1)
    return d + timedelta(days=(6 - d.weekday()) % 7 + 7 * (n - 1))


@cache
def special_dates(cal: Calendar) -> dict[str, list[date]]:
    """Year ends, DST change days (EU and US) and closed days, with two days either side of each."""
    seeds: dict[str, set[date]] = {"year end": set(), "DST change": set(), "closed day": set()}
    for y in range(2024, 2029):
        seeds["year end"] |= {date(y, 1, 1), date(y, 12, 31)}
        seeds["DST change"] |= {_last_sunday(y, 3), _last_sunday(y, 10), _nth_sunday(y, 3, 2),
                                _nth_sunday(y, 11, 1)}
        seeds["closed day"] |= ref_closed_in_year(cal.closed, y)
    # the day itself three times as often as each neighbour
    return {kind: sorted(d + timedelta(days=k) for d in ds for k in (-2, -1, 0, 0, 0, 1, 2))
            for kind, ds in seeds.items() if ds}


def _boundary_minutes(cal: Calendar) -> list[int]:
    ms = {0, 60, 120, 135, 150, 180, 1439}
    for ws in cal.windows.values():
        for s, e in ws:
            ms |= {s, e % 1440}
    return sorted(ms)


JITTER = [timedelta(0), US, -US, timedelta(seconds=1), -timedelta(seconds=1),
          timedelta(minutes=30), -timedelta(minutes=30)]


@st.composite
def instants(draw: st.DrawFn, cal: Calendar) -> datetime:
    """An aware instant in 2024-2028, shown in the calendar's zone or another one."""
    kind = draw(st.sampled_from(["uniform", "special", "special-any-time"]))
    if kind == "uniform":
        span = int((HI - LO) / US)
        t = LO + draw(st.integers(0, span)) * US
    else:
        days = special_dates(cal)
        kinds = [k for k in ("DST change", "DST change", "year end", "closed day") if k in days]
        d = draw(st.sampled_from(days[draw(st.sampled_from(kinds))]))
        if kind == "special":
            wall = (datetime.combine(d, time()) + timedelta(minutes=draw(st.sampled_from(
                _boundary_minutes(cal)))) + draw(st.sampled_from(JITTER)))
        else:
            wall = datetime.combine(d, time()) + draw(st.integers(0, 86_400 * 10**6 - 1)) * US
        # wall times in a DST gap or repeated hour are legal input: fold picks the reading
        t = wall.replace(tzinfo=cal.tz, fold=draw(st.integers(0, 1)))
    return t.astimezone(draw(st.sampled_from([cal.tz, *ZONES])))


@st.composite
def durations(draw: st.DrawFn, cal: Calendar) -> timedelta:
    """1 µs to 500 h, biased to short spans, whole half hours and multiples of window lengths."""
    kind = draw(st.sampled_from(["uniform", "short", "half-hours", "window-multiples", "tiny"]))
    if kind == "uniform":
        return draw(st.integers(1, 500 * 3600 * 10**6)) * US
    if kind == "short":
        return draw(st.integers(1, 8 * 3600 * 10**6)) * US
    if kind == "tiny":
        return draw(st.integers(1, 2 * 10**6)) * US
    if kind == "half-hours":
        base = draw(st.integers(1, 400)) * timedelta(minutes=30)
    else:
        lengths = sorted({e - s for ws in cal.windows.values() for s, e in ws})
        base = draw(st.sampled_from(lengths)) * timedelta(minutes=1) * draw(st.integers(1, 12))
    return base + draw(st.sampled_from([timedelta(0), timedelta(0), US, -US]))


def utc(t: datetime) -> datetime:
    return t.astimezone(UTC)


def assert_same_instant(got: datetime, want: datetime, cal: Calendar) -> None:
    assert got.tzinfo is not None and got.utcoffset() is not None
    assert utc(got) == utc(want), f"{got.isoformat()} != {want.isoformat()}"
    assert got.utcoffset() == want.utcoffset(), "right instant, wrong offset (fold)"
    assert isinstance(got.tzinfo, ZoneInfo) and got.tzinfo.key == cal.tz.key


# -- add and working_time against the reference ---------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_add_matches_reference_and_is_earliest(name: str, data: st.DataObject) -> None:
    cal = calendar(name)
    s = data.draw(instants(cal), label="start")
    d = data.draw(durations(cal), label="duration")
    got = cal.add(s, d)
    assert_same_instant(got, ref_add(cal, s, d), cal)
    assert utc(got) > utc(s)
    assert cal.working_time(s, got) == d
    assert cal.working_time(s, utc(got) - US) < d  # earliest: a microsecond earlier is too soon
    local = got.astimezone(cal.tz)
    ends = {e % 1440 for ws in cal.windows.values() for _, e in ws}
    if local.hour * 60 + local.minute in ends and local.second == local.microsecond == 0:
        event("due exactly at a window's end")
    if local.utcoffset() != s.astimezone(cal.tz).utcoffset():
        event("span crosses a DST change")
    midnight = datetime.combine(local.date(), time(), cal.tz)
    if midnight.utcoffset() != (midnight + timedelta(days=1)).utcoffset():
        event("due on a DST change day")


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_working_time_matches_reference_and_is_additive(name: str, data: st.DataObject) -> None:
    cal = calendar(name)
    a, b, c = (data.draw(instants(cal), label=x) for x in "abc")
    if data.draw(st.booleans(), label="b near a"):  # short spans too, not only years apart
        b = utc(a) + data.draw(durations(cal), label="b - a")
    wab = cal.working_time(a, b)
    assert wab == ref_working_time(cal, a, b)
    assert timedelta(0) <= wab <= max(utc(b) - utc(a), timedelta(0))
    a, b, c = sorted((a, b, c), key=utc)
    assert cal.working_time(a, b) + cal.working_time(b, c) == cal.working_time(a, c)
    assert cal.working_time(c, a) == timedelta(0)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_add_is_monotone_in_start_and_duration(name: str, data: st.DataObject) -> None:
    cal = calendar(name)
    s1, s2 = sorted((data.draw(instants(cal)), data.draw(instants(cal))), key=utc)
    d1, d2 = sorted((data.draw(durations(cal)), data.draw(durations(cal))))
    assert utc(cal.add(s1, d1)) <= utc(cal.add(s2, d1))
    if d1 < d2:
        assert utc(cal.add(s1, d1)) < utc(cal.add(s1, d2))
    else:
        assert utc(cal.add(s1, d1)) == utc(cal.add(s1, d2))


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_add_is_additive(name: str, data: st.DataObject) -> None:
    cal = calendar(name)
    s = data.draw(instants(cal))
    d1, d2 = data.draw(durations(cal)), data.draw(durations(cal))
    assert utc(cal.add(cal.add(s, d1), d2)) == utc(cal.add(s, d1 + d2))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_zero_duration_and_naive_input(name: str, data: st.DataObject) -> None:
    cal = calendar(name)
    s = data.draw(instants(cal))
    assert utc(cal.add(s, timedelta(0))) == utc(s)
    naive = s.replace(tzinfo=None)
    with pytest.raises(ValueError):
        cal.add(naive, timedelta(hours=1))
    with pytest.raises(ValueError):
        cal.working_time(naive, s)
    with pytest.raises(ValueError):
        cal.working_time(s, naive)
    with pytest.raises(ValueError):
        cal.add(s, -US)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_explain_adds_up(name: str, data: st.DataObject) -> None:
    """The counted stretches of an explanation sum to d, in real time also on DST days."""
    cal = calendar(name)
    s = data.draw(instants(cal))
    d = data.draw(durations(cal))
    ex = cal.explain(s, d)
    assert utc(ex.due) == utc(cal.add(s, d))
    assert sum((step.counted for step in ex.steps), timedelta(0)) == d
    assert all(step.counted > timedelta(0) for step in ex.steps if step.kind == "counted")
