"""Worked examples of the SLA engine, each checked by hand and against the slow reference.

Times in the tables are local wall-clock times of the calendar's zone. The first table is the
"Worked examples" table of DESIGN.md, verbatim.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.sla import load_policy
from bot.sla.calendar import Calendar
from bot.sla.closed_days import ClosedDays, NamedDay
from tests.sla_reference import (
    belgian_public_holidays,
    brussels_24_7,
    new_york_nights,
    panenco_like,
    ref_add,
    ref_closed_in_year,
    ref_working_time,
    spinpanel_like,
)

PANENCO = panenco_like()
SPINPANEL = spinpanel_like()
H = timedelta(hours=1)

Stamp = tuple[int, int, int, int, int]  # year, month, day, hour, minute (local)


def local(cal: Calendar, ymdhm: Stamp) -> datetime:
    return datetime(*ymdhm, tzinfo=cal.tz)


def check_add(cal: Calendar, start: Stamp, d: timedelta, due: Stamp) -> None:
    s, want = local(cal, start), local(cal, due)
    got = cal.add(s, d)
    assert got.astimezone(UTC) == want.astimezone(UTC), f"{got:%a %d %b %Y %H:%M}"
    assert got.utcoffset() == want.utcoffset()
    assert ref_add(cal, s, d).astimezone(UTC) == want.astimezone(UTC)
    assert cal.working_time(s, got) == d


# -- DESIGN.md: provider policy, Mon-Fri 09:00-18:00 Europe/Brussels, Belgian holidays ----------

DESIGN_TABLE = [
    # start (local)             add     due (local)              why
    ((2026, 11, 20, 17, 0), 2 * H, (2026, 11, 23, 10, 0)),  # 1 h Fri, weekend, 1 h Mon
    ((2026, 12, 24, 16, 0), 2 * H, (2026, 12, 24, 18, 0)),  # met exactly at closing time
    ((2026, 12, 24, 17, 0), 2 * H, (2026, 12, 28, 10, 0)),  # Christmas (Fri), then weekend
    ((2026, 11, 21, 23, 0), 8 * H, (2026, 11, 23, 17, 0)),  # starts at the next opening
    ((2027, 3, 26, 12, 0), 8 * H, (2027, 3, 30, 11, 0)),  # 6 h Fri, Easter Monday, 2 h Tue
]


@pytest.mark.parametrize(("start", "d", "due"), DESIGN_TABLE)
def test_design_worked_examples(start: Stamp, d: timedelta, due: Stamp) -> None:
    check_add(PANENCO, start, d, due)


MORE_PANENCO = [
    # New Year: Thu 31 Dec 2026 17:00 + 2 h: 1 h Thu, Fri 1 Jan holiday, weekend, 1 h Mon 4 Jan
    ((2026, 12, 31, 17, 0), 2 * H, (2027, 1, 4, 10, 0)),
    # Good Friday is no Belgian holiday: Thu 2 Apr 2026 17:00 + 2 h is Fri 3 Apr 10:00
    ((2026, 4, 2, 17, 0), 2 * H, (2026, 4, 3, 10, 0)),
    # Easter Monday 6 Apr 2026: Fri 3 Apr 17:00 + 2 h is Tue 7 Apr 10:00
    ((2026, 4, 3, 17, 0), 2 * H, (2026, 4, 7, 10, 0)),
    # Ascension Thu 14 May 2026: Wed 13 May 17:00 + 2 h is Fri 15 May 10:00
    ((2026, 5, 13, 17, 0), 2 * H, (2026, 5, 15, 10, 0)),
    # Whit Monday 25 May 2026: Fri 22 May 17:00 + 2 h is Tue 26 May 10:00
    ((2026, 5, 22, 17, 0), 2 * H, (2026, 5, 26, 10, 0)),
    # a full day from opening lands exactly on closing time, not on the next opening
    ((2026, 11, 23, 9, 0), 9 * H, (2026, 11, 23, 18, 0)),
    # ... and two full days from opening land on the second day's closing time
    ((2026, 11, 23, 9, 0), 18 * H, (2026, 11, 24, 18, 0)),
    # start before opening, inside the window, after closing
    ((2026, 11, 23, 8, 0), 1 * H, (2026, 11, 23, 10, 0)),
    ((2026, 11, 23, 12, 0), 1 * H, (2026, 11, 23, 13, 0)),
    ((2026, 11, 23, 20, 0), 1 * H, (2026, 11, 24, 10, 0)),
    # start exactly at opening, exactly at closing
    ((2026, 11, 23, 9, 0), 1 * H, (2026, 11, 23, 10, 0)),
    ((2026, 11, 23, 18, 0), 1 * H, (2026, 11, 24, 10, 0)),
    # start on a holiday (Christmas Day, Fri 25 Dec 2026): the clock waits for Mon 28 Dec
    ((2026, 12, 25, 10, 0), 1 * H, (2026, 12, 28, 10, 0)),
    # a whole working week from Fri 20 Nov 17:00: 1 h + 4 x 9 h + 8 h, due Fri 27 Nov 17:00
    ((2026, 11, 20, 17, 0), 45 * H, (2026, 11, 27, 17, 0)),
    # DST: Fri 27 Mar 2026 17:00 (CET) + 2 h is Mon 30 Mar 10:00 (CEST), 9:00 local counts
    ((2026, 3, 27, 17, 0), 2 * H, (2026, 3, 30, 10, 0)),
    ((2026, 10, 23, 17, 0), 2 * H, (2026, 10, 26, 10, 0)),
]


@pytest.mark.parametrize(("start", "d", "due"), MORE_PANENCO)
def test_more_panenco_examples(start: Stamp, d: timedelta, due: Stamp) -> None:
    check_add(PANENCO, start, d, due)


def test_minutes_and_seconds() -> None:
    s = datetime(2026, 11, 20, 17, 59, 59, 999_999, tzinfo=PANENCO.tz)
    due = PANENCO.add(s, timedelta(microseconds=2))
    assert due == datetime(2026, 11, 23, 9, 0, 0, 1, tzinfo=PANENCO.tz)
    assert PANENCO.add(s, timedelta(microseconds=1)) == local(PANENCO, (2026, 11, 20, 18, 0))


def test_start_at_closing_time_has_no_working_time_until_opening() -> None:
    closing = local(PANENCO, (2026, 11, 23, 18, 0))
    opening = local(PANENCO, (2026, 11, 24, 9, 0))
    assert PANENCO.working_time(closing, opening) == timedelta(0)
    assert PANENCO.working_time(closing, opening + timedelta(microseconds=1)) == timedelta(
        microseconds=1)


def test_working_time_examples() -> None:
    def wt(a: Stamp, b: Stamp) -> timedelta:
        got = PANENCO.working_time(local(PANENCO, a), local(PANENCO, b))
        assert got == ref_working_time(PANENCO, local(PANENCO, a), local(PANENCO, b))
        return got

    assert wt((2026, 11, 20, 17, 0), (2026, 11, 23, 10, 0)) == 2 * H
    assert wt((2026, 12, 24, 0, 0), (2027, 1, 1, 0, 0)) == 9 * H * 5  # 24, 28, 29, 30, 31 Dec
    assert wt((2026, 1, 1, 0, 0), (2027, 1, 1, 0, 0)) == 9 * H * 253  # 261 weekdays - 8 holidays
    assert wt((2026, 11, 23, 10, 0), (2026, 11, 20, 17, 0)) == timedelta(0)  # b before a


def test_start_in_another_zone_result_in_calendar_zone() -> None:
    start = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # 17:00 in Brussels
    due = PANENCO.add(start, 2 * H)
    assert due.tzinfo == PANENCO.tz
    assert due == local(PANENCO, (2026, 11, 23, 10, 0))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        PANENCO.add(datetime(2026, 11, 20, 17, 0), H)
    with pytest.raises(ValueError, match="aware"):
        PANENCO.working_time(datetime(2026, 11, 20, 17, 0), local(PANENCO, (2026, 11, 23, 0, 0)))


def test_belgian_holidays_match_the_statutory_list() -> None:
    for year in range(2024, 2031):
        assert set(PANENCO.closed.in_year(year)) == belgian_public_holidays(year)
    assert PANENCO.closed_reason(date(2026, 12, 25)) == "Christmas Day"
    assert PANENCO.closed_reason(date(2026, 4, 3)) is None  # Good Friday
    assert not PANENCO.is_working_day(date(2026, 11, 21))  # Saturday


def test_explain_christmas() -> None:
    ex = PANENCO.explain(local(PANENCO, (2026, 12, 24, 17, 0)), 2 * H)
    assert str(ex) == ("counted 17:00–18:00 Thu 24 Dec, skipped Christmas Day (holiday), weekend, "
                       "counted 09:00–10:00 Mon 28 Dec")
    assert ex.due == local(PANENCO, (2026, 12, 28, 10, 0))
    assert sum((s.counted for s in ex.steps), timedelta(0)) == 2 * H


def test_explain_easter() -> None:
    ex = PANENCO.explain(local(PANENCO, (2027, 3, 26, 12, 0)), 8 * H)
    assert str(ex) == ("counted 12:00–18:00 Fri 26 Mar, weekend, skipped Easter Monday (holiday), "
                       "counted 09:00–11:00 Tue 30 Mar")


def test_working_days() -> None:
    # close of the n-th working day after the start's local date (that day not counted)
    assert PANENCO.add_working_days(local(PANENCO, (2026, 12, 24, 10, 0)), 1) == local(
        PANENCO, (2026, 12, 28, 18, 0))
    assert PANENCO.add_working_days(local(PANENCO, (2026, 11, 20, 17, 0)), 10) == local(
        PANENCO, (2026, 12, 4, 18, 0))


# -- the other contract: Mon-Fri 08:30-17:00 Europe/Amsterdam, seven named days -------------------

SPINPANEL_TABLE = [
    # Good Friday 18 Apr 2025 is a working day: Thu 17 Apr 16:00 + 2 h is Fri 18 Apr 09:30
    ((2025, 4, 17, 16, 0), 2 * H, (2025, 4, 18, 9, 30)),
    # Easter Monday 21 Apr 2025 is closed: Fri 18 Apr 16:00 + 2 h is Tue 22 Apr 09:30
    ((2025, 4, 18, 16, 0), 2 * H, (2025, 4, 22, 9, 30)),
    # King's Day 2025 moves from Sun 27 Apr to Sat 26 Apr: it costs no working day.
    # Fri 25 Apr 16:00 + 2 h: 16:00-17:00 Fri, weekend, 08:30-09:30 Mon 28 Apr
    ((2025, 4, 25, 16, 0), 2 * H, (2025, 4, 28, 9, 30)),
    # King's Day 2026 is Mon 27 Apr, closed: Fri 24 Apr 16:00 + 2 h is Tue 28 Apr 09:30
    ((2026, 4, 24, 16, 0), 2 * H, (2026, 4, 28, 9, 30)),
    # Christmas Thu 25 and Fri 26 Dec 2025: Wed 24 Dec 16:00 + 2 h is Mon 29 Dec 09:30
    ((2025, 12, 24, 16, 0), 2 * H, (2025, 12, 29, 9, 30)),
    # a full day lands on closing time; Ascension Thu 14 May 2026 is closed
    ((2026, 5, 13, 8, 30), 17 * H, (2026, 5, 15, 17, 0)),
    # year end: Wed 31 Dec 2025 16:00 + 2 h, New Year Thu 1 Jan closed: Fri 2 Jan 09:30
    ((2025, 12, 31, 16, 0), 2 * H, (2026, 1, 2, 9, 30)),
]


@pytest.mark.parametrize(("start", "d", "due"), SPINPANEL_TABLE)
def test_spinpanel_examples(start: Stamp, d: timedelta, due: Stamp) -> None:
    check_add(SPINPANEL, start, d, due)


def test_spinpanel_closed_days() -> None:
    for year in range(2024, 2031):
        closed = SPINPANEL.closed.in_year(year)
        assert len(closed) == 7
        assert set(closed) == ref_closed_in_year(SPINPANEL.closed, year)
    assert SPINPANEL.is_working_day(date(2025, 4, 18))  # Good Friday
    assert SPINPANEL.closed_reason(date(2025, 4, 26)) == "King's Day"  # moved to Saturday
    assert SPINPANEL.closed_reason(date(2025, 4, 27)) is None
    assert SPINPANEL.closed_reason(date(2026, 4, 27)) == "King's Day"


# -- DST: windows are wall-clock, real elapsed time counts ----------------------------------------


def test_24_7_dst_days_last_23_and_25_hours() -> None:
    cal = brussels_24_7()

    def day(y: int, m: int, d: int) -> timedelta:
        return cal.working_time(local(cal, (y, m, d, 0, 0)),
                                local(cal, (y, m, d, 0, 0)) + timedelta(days=1))

    assert day(2026, 3, 29) == 23 * H
    assert day(2026, 10, 25) == 25 * H
    assert day(2026, 6, 1) == 24 * H
    # Sat 28 Mar 2026 12:00 + 24 h of real time is Sun 29 Mar 13:00 (clocks went forward)
    check_add(cal, (2026, 3, 28, 12, 0), 24 * H, (2026, 3, 29, 13, 0))
    check_add(cal, (2026, 10, 24, 12, 0), 24 * H, (2026, 10, 25, 11, 0))


def test_window_around_the_new_york_dst_change() -> None:
    cal = new_york_nights()  # 00:00-04:00 and 20:00-24:00 daily

    def night(y: int, m: int, d: int) -> timedelta:
        return cal.working_time(local(cal, (y, m, d, 0, 0)), local(cal, (y, m, d, 5, 0)))

    assert night(2026, 3, 8) == 3 * H  # 02:00 EST jumps to 03:00 EDT
    assert night(2026, 11, 1) == 5 * H  # 01:00-02:00 is lived twice
    assert night(2026, 11, 2) == 4 * H
    # Sun 1 Nov 2026 00:30 EDT + 1 h is 01:30 EDT, the first of the two 01:30s
    due = cal.add(local(cal, (2026, 11, 1, 0, 30)), H)
    assert due.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    # + 2 h is 01:30 EST, the second one (fold=1)
    due = cal.add(local(cal, (2026, 11, 1, 0, 30)), 2 * H)
    assert due.astimezone(UTC) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert (due.hour, due.minute, due.fold) == (1, 30, 1)


# -- the shipped policy files ---------------------------------------------------------------------


def test_policy_calendars_are_the_ones_tested_here() -> None:
    for name, mine in (("panenco", PANENCO), ("spinpanel", SPINPANEL)):
        cal = load_policy(name).calendar
        assert cal.tz.key == mine.tz.key
        assert cal.windows == mine.windows
        for year in range(2024, 2031):
            assert set(cal.closed.in_year(year)) == ref_closed_in_year(mine.closed, year)


# DESIGN's 2 h and 8 h are the panenco P1 targets (placeholder values in the policy file: if they
# change, this mapping changes with them)
PANENCO_CLOCK_FOR = {2 * H: ("P1", "response"), 8 * H: ("P1", "resolution")}


@pytest.mark.parametrize(("start", "d", "due"), DESIGN_TABLE)
def test_panenco_policy_deadline_matches_design(start: Stamp, d: timedelta, due: Stamp) -> None:
    policy = load_policy("panenco")
    priority, clock = PANENCO_CLOCK_FOR[d]
    assert policy.target(priority, clock) == d
    got = policy.deadline(priority, clock, local(PANENCO, start))
    assert got.astimezone(UTC) == local(PANENCO, due).astimezone(UTC)


@pytest.mark.parametrize(("start", "d", "due"), SPINPANEL_TABLE)
def test_spinpanel_policy_calendar_matches_examples(start: Stamp, d: timedelta, due: Stamp) -> None:
    check_add(load_policy("spinpanel").calendar, start, d, due)


# -- edges that were engine bugs once: DST gaps, moved days across the year end, DST explain ----


def test_window_edge_in_spring_forward_gap() -> None:
    # Sun 29 Mar 2026, Brussels: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist and, per the
    # engine's own docstring, "maps to the instant just after the gap" (03:00 CEST).
    cal = Calendar("Europe/Brussels", {6: [(150, 300)]})  # Sundays 02:30-05:00
    day = datetime(2026, 3, 29, tzinfo=UTC)
    assert ref_working_time(cal, day, day + 6 * H) == 2 * H  # 03:00-05:00 CEST
    assert cal.working_time(day, day + 6 * H) == 2 * H  # was 1:30:00 (from 03:30 CEST)


def test_named_day_moved_across_the_year_end() -> None:
    # New Year's Day observed on Friday when 1 Jan is a Saturday (1 Jan 2028 is a Saturday)
    spec = ClosedDays(named=(NamedDay("New Year's Day", month=1, day=1, move=((5, -1),)),))
    assert date(2027, 12, 31) in ref_closed_in_year(spec, 2027)
    assert spec.name_of(date(2027, 12, 31)) == "New Year's Day"  # was None


def test_observed_new_year_closes_the_last_day_of_the_year_before() -> None:
    cal = new_york_nights()  # 1 Jan 2028 is a Saturday: observed on Fri 31 Dec 2027
    assert cal.closed_reason(date(2027, 12, 31)) == "New Year's Day"
    assert cal.is_working_day(date(2028, 1, 1))
    # Thu 30 Dec 2027 23:00 + 2 h: 23:00-24:00 Thu, Fri 31 Dec closed, 00:00-01:00 Sat 1 Jan
    check_add(cal, (2027, 12, 30, 23, 0), 2 * H, (2028, 1, 1, 1, 0))


def test_explain_counted_on_a_dst_day() -> None:
    cal = brussels_24_7()
    ex = cal.explain(local(cal, (2026, 3, 28, 12, 0)), 40 * H)
    assert str(ex) == ("counted 12:00–24:00 Sat 28 Mar, counted 00:00–24:00 Sun 29 Mar, "
                       "counted 00:00–05:00 Mon 30 Mar")
    assert [s.counted for s in ex.steps] == [12 * H, 23 * H, 5 * H]  # was 12 h, 24 h, 5 h


def test_leap_day_named_holiday_only_in_leap_years() -> None:
    spec = ClosedDays(named=(NamedDay("Leap Day", month=2, day=29),))
    assert spec.name_of(date(2028, 2, 29)) == "Leap Day"
    assert spec.in_year(2027) == {}


def test_explain_names_a_holiday_on_the_start_day() -> None:
    p = load_policy("panenco")
    ex = p.calendar.explain(datetime(2026, 12, 25, 10, 0, tzinfo=p.calendar.tz), 1 * H)
    assert str(ex) == "skipped Christmas Day (holiday), weekend, counted 09:00–10:00 Mon 28 Dec"
