"""Policy files: the three built-ins say exactly what the contracts say, custom files load and
behave, and every mistake in a file is a PolicyError naming the file, the key and the reason.

Expected deadlines are computed by hand from the contracts (see the comment on each).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.errors import ConfigError, PolicyError
from bot.model import EventKind
from bot.priority import Priority
from bot.sla.durations import WorkingDays
from bot.sla.loader import builtin_policies, builtin_policy_dir, load_policy, parse_policy
from bot.sla.policy import CreditRule, Policy

BXL = ZoneInfo("Europe/Brussels")
AMS = ZoneInfo("Europe/Amsterdam")
UTC = ZoneInfo("UTC")
P1, P2, P3, P4 = Priority.P1, Priority.P2, Priority.P3, Priority.P4


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


# -- the built-in policies ----------------------------------------------------------------------


def test_builtins_are_listed() -> None:
    assert builtin_policies() == ["demo247", "panenco", "spinpanel"]


@pytest.mark.parametrize("name", ["panenco", "spinpanel", "demo247"])
def test_builtin_loads_by_name(name: str) -> None:
    policy = load_policy(name)
    assert isinstance(policy, Policy)
    assert policy.name == name
    assert Path(policy.source) == builtin_policy_dir() / f"{name}.toml"
    # by name and by path are the same file, so the same version
    assert load_policy(builtin_policy_dir() / f"{name}.toml").version == policy.version


def test_panenco_is_the_contract() -> None:
    p = load_policy("panenco")
    cal = p.calendar
    assert cal.tz == BXL
    weekday = [(9 * 60, 18 * 60)]
    assert {wd: list(cal.windows[wd]) for wd in range(7)} == {
        0: weekday, 1: weekday, 2: weekday, 3: weekday, 4: weekday, 5: [], 6: []}
    # Belgian public holidays
    assert cal.closed_reason(date(2026, 7, 21)) is not None  # National Day, a Tuesday
    assert not cal.is_working_day(date(2026, 7, 21))
    assert not cal.is_working_day(date(2026, 12, 25))
    assert not cal.is_working_day(date(2026, 4, 6))  # Easter Monday
    assert not cal.is_working_day(date(2026, 11, 11))  # Armistice Day, a Wednesday
    assert cal.is_working_day(date(2026, 4, 3))  # Good Friday is not a Belgian holiday
    assert cal.is_working_day(date(2026, 7, 20))
    assert not cal.is_working_day(date(2026, 7, 18))  # Saturday

    assert p.clocks.keys() == {"response", "resolution"}
    assert dict(p.clock("response").targets) == {
        P1: hours(2), P2: hours(4), P3: hours(6), P4: hours(8)}
    assert dict(p.clock("resolution").targets) == {
        P1: hours(8), P2: hours(24), P3: hours(40), P4: hours(120)}
    assert p.target("P3", "resolution") == hours(40)

    response, resolution = p.clock("response"), p.clock("resolution")
    assert response.start == {EventKind.REGISTERED}
    assert response.stop == {EventKind.RESPONDED, EventKind.CLOSED}  # closing stops every clock
    assert resolution.start == {EventKind.CAUSE_CONFIRMED}  # not registration
    assert resolution.stop == {EventKind.RESOLVED, EventKind.CLOSED}
    assert resolution.reopen == {EventKind.REOPENED}
    assert response.pause == resolution.pause == frozenset()  # the contract names no pause

    assert p.compliance.period == "biweekly"
    assert dict(p.compliance.targets) == {"response": 0.90, "resolution": 0.90}
    assert p.credits == (CreditRule("resolution", frozenset({P1, P2}), 0.25, 1),)
    assert dict(p.deadlines) == {"change_request_response": WorkingDays(10),
                                 "report_acceptance": WorkingDays(10)}
    assert p.maintenance_notice == hours(72)
    assert p.priority_set_by == "client"
    assert p.phone_followup == {P1}
    assert p.placeholders == ()
    assert not p.is_placeholder("clocks.response.targets")


SPINPANEL_CLOSED = {
    2025: {
        date(2025, 1, 1): "New Year's Day",
        date(2025, 4, 21): "Second Easter Day",
        date(2025, 4, 26): "King's Day",  # 27 April 2025 is a Sunday: moved to Saturday
        date(2025, 5, 29): "Ascension Day",
        date(2025, 6, 9): "Whit Monday",
        date(2025, 12, 25): "Christmas Day",
        date(2025, 12, 26): "Second Day of Christmas",
    },
    2026: {
        date(2026, 1, 1): "New Year's Day",
        date(2026, 4, 6): "Second Easter Day",
        date(2026, 4, 27): "King's Day",
        date(2026, 5, 14): "Ascension Day",
        date(2026, 5, 25): "Whit Monday",
        date(2026, 12, 25): "Christmas Day",
        date(2026, 12, 26): "Second Day of Christmas",
    },
}


def test_spinpanel_is_the_contract() -> None:
    p = load_policy("spinpanel")
    cal = p.calendar
    assert cal.tz == AMS
    weekday = [(8 * 60 + 30, 17 * 60)]
    assert {wd: list(cal.windows[wd]) for wd in range(7)} == {
        0: weekday, 1: weekday, 2: weekday, 3: weekday, 4: weekday, 5: [], 6: []}
    for year, closed in SPINPANEL_CLOSED.items():
        assert cal.closed.in_year(year) == closed
    for year in range(2024, 2036):
        assert len(cal.closed.in_year(year)) == 7, year
    assert cal.is_working_day(date(2025, 4, 18))  # Good Friday: a working day here
    assert cal.is_working_day(date(2025, 5, 5))  # Liberation Day (Monday): a working day here
    assert cal.is_working_day(date(2025, 4, 28))  # King's Day 2025 costs no working day
    assert not cal.is_working_day(date(2026, 4, 27))  # King's Day 2026 is a Monday

    assert p.priority_set_by == "provider"
    assert p.phone_followup == frozenset()
    assert p.compliance.period == "yearly"
    assert dict(p.compliance.targets) == {"response": 0.99, "resolution": 0.90}
    assert p.availability_target == 0.999
    assert p.credits == ()
    assert dict(p.deadlines) == {}
    assert p.maintenance_notice is None
    assert p.clock("resolution").start == {EventKind.REGISTERED}

    # the target tables were images in the contract: the values are placeholders, and say so
    assert set(p.placeholders) == {"clocks.response.targets", "clocks.resolution.targets"}
    assert p.is_placeholder("clocks.response.targets")
    assert p.is_placeholder("clocks.resolution.targets")
    assert p.is_placeholder("clocks.response.targets.P1")
    assert not p.is_placeholder("clocks.response")
    assert not p.is_placeholder("compliance.targets")


def test_demo247_is_around_the_clock_with_minute_targets() -> None:
    p = load_policy("demo247")
    cal = p.calendar
    assert cal.tz == UTC
    assert all(list(cal.windows[wd]) == [(0, 1440)] for wd in range(7))
    assert cal.closed.in_year(2026) == {}
    start = datetime(2026, 12, 24, 13, 7, tzinfo=UTC)
    assert cal.working_time(start, start + timedelta(days=9)) == timedelta(days=9)
    assert dict(p.clock("response").targets) == {
        P1: minutes(5), P2: minutes(10), P3: minutes(30), P4: hours(1)}
    assert dict(p.clock("resolution").targets) == {
        P1: minutes(30), P2: hours(1), P3: hours(4), P4: hours(8)}
    assert p.clock("response").pause == {EventKind.PAUSED}
    assert p.clock("response").resume == {EventKind.RESUMED}
    assert p.compliance.period == "monthly"
    assert dict(p.deadlines) == {"change_request_response": WorkingDays(2),
                                 "report_acceptance": WorkingDays(2)}
    assert p.maintenance_notice == hours(1)


# -- deadlines, computed by hand ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "priority", "clock", "start", "due"),
    [
        # DESIGN.md: 1 h Friday, weekend, 1 h Monday
        ("panenco", "P1", "response", datetime(2026, 11, 20, 17, tzinfo=BXL),
         datetime(2026, 11, 23, 10, tzinfo=BXL)),
        # met exactly at closing time: due then, not at the next opening
        ("panenco", "P1", "response", datetime(2026, 12, 24, 16, tzinfo=BXL),
         datetime(2026, 12, 24, 18, tzinfo=BXL)),
        # Christmas (Friday) then the weekend
        ("panenco", "P1", "response", datetime(2026, 12, 24, 17, tzinfo=BXL),
         datetime(2026, 12, 28, 10, tzinfo=BXL)),
        # starts on Saturday night: 8 h from Monday's opening
        ("panenco", "P1", "resolution", datetime(2026, 11, 21, 23, tzinfo=BXL),
         datetime(2026, 11, 23, 17, tzinfo=BXL)),
        # 6 h Friday, Easter Monday 29 Mar 2027 closed, 2 h Tuesday
        ("panenco", "P4", "response", datetime(2027, 3, 26, 12, tzinfo=BXL),
         datetime(2027, 3, 30, 11, tzinfo=BXL)),
        # 24 h = 9 h Mon + 9 h Tue + 6 h Wed
        ("panenco", "P2", "resolution", datetime(2026, 3, 2, 9, tzinfo=BXL),
         datetime(2026, 3, 4, 15, tzinfo=BXL)),
        # 120 h = 13 days of 9 h + 3 h; National Day Tue 21 Jul skipped -> 14th working day Fri 24
        ("panenco", "P4", "resolution", datetime(2026, 7, 6, 9, tzinfo=BXL),
         datetime(2026, 7, 24, 12, tzinfo=BXL)),
        # the same instant written in UTC gives the same deadline
        ("panenco", "P1", "response", datetime(2026, 11, 20, 16, tzinfo=UTC),
         datetime(2026, 11, 23, 10, tzinfo=BXL)),
        # 30 min Thursday, Good Friday 2025 is a working day: 30 min Friday
        ("spinpanel", "P1", "response", datetime(2025, 4, 17, 16, 30, tzinfo=AMS),
         datetime(2025, 4, 18, 9, tzinfo=AMS)),
        # 1 h Good Friday 2026, Easter Monday closed, 1 h Tuesday from 08:30
        ("spinpanel", "P2", "response", datetime(2026, 4, 3, 16, tzinfo=AMS),
         datetime(2026, 4, 7, 9, 30, tzinfo=AMS)),
        # 30 min Friday, King's Day Mon 27 Apr 2026 closed, 30 min Tuesday
        ("spinpanel", "P1", "response", datetime(2026, 4, 24, 16, 30, tzinfo=AMS),
         datetime(2026, 4, 28, 9, tzinfo=AMS)),
        # 1 h Friday, Liberation Day Mon 5 May 2025 is a working day: 1 h Monday
        ("spinpanel", "P2", "response", datetime(2025, 5, 2, 16, tzinfo=AMS),
         datetime(2025, 5, 5, 9, 30, tzinfo=AMS)),
        # every minute counts, across midnight
        ("demo247", "P1", "response", datetime(2026, 3, 1, 23, 58, tzinfo=UTC),
         datetime(2026, 3, 2, 0, 3, tzinfo=UTC)),
        # ... and across Christmas
        ("demo247", "P4", "resolution", datetime(2026, 12, 25, 20, tzinfo=UTC),
         datetime(2026, 12, 26, 4, tzinfo=UTC)),
    ],
)
def test_deadline(name: str, priority: str, clock: str, start: datetime, due: datetime) -> None:
    got = load_policy(name).deadline(priority, clock, start)
    assert got == due
    assert got.utcoffset() == due.utcoffset()  # given in the calendar's zone


@pytest.mark.parametrize(
    ("start", "due"),
    [
        # working days after Tue 22 Dec 2026: 23, 24, (25 Christmas), 28, 29, 30, 31, (1 Jan),
        # 4, 5, 6, 7 Jan -> close of Thu 7 Jan 2027
        (datetime(2026, 12, 22, 10, tzinfo=BXL), datetime(2027, 1, 7, 18, tzinfo=BXL)),
        # 23:30 UTC on the 21st is already the 22nd in Brussels: the local date counts
        (datetime(2026, 12, 21, 23, 30, tzinfo=UTC), datetime(2027, 1, 7, 18, tzinfo=BXL)),
        # Mon 13 Jul 2026: 14, 15, 16, 17, 20, (21 National Day), 22, 23, 24, 27, 28
        (datetime(2026, 7, 13, 17, 59, tzinfo=BXL), datetime(2026, 7, 28, 18, tzinfo=BXL)),
        # filed on a Saturday: the 10 days start on Monday
        (datetime(2026, 3, 7, 12, tzinfo=BXL), datetime(2026, 3, 20, 18, tzinfo=BXL)),
    ],
)
def test_panenco_working_day_deadline(start: datetime, due: datetime) -> None:
    p = load_policy("panenco")
    assert p.working_day_deadline("change_request_response", start) == due
    assert p.working_day_deadline("report_acceptance", start) == due


def test_demo247_working_day_deadline() -> None:
    # 2wd after Sun 1 Mar: Mon 2 and Tue 3 Mar; the close of a 24 h day is the next midnight
    p = load_policy("demo247")
    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert p.working_day_deadline("change_request_response", start) == \
        datetime(2026, 3, 4, tzinfo=UTC)


def test_unknown_deadline_and_clock_say_what_exists() -> None:
    with pytest.raises(KeyError, match="it has: none"):
        load_policy("spinpanel").working_day_deadline("change_request_response",
                                                      datetime(2026, 3, 2, tzinfo=AMS))
    with pytest.raises(KeyError, match="response, resolution"):
        load_policy("panenco").deadline("P1", "reaction", datetime(2026, 3, 2, tzinfo=BXL))


# -- versions and reloading ---------------------------------------------------------------------


BASE = """\
[policy]
name = "base"
title = "Base"

[calendar]
timezone = "Europe/Brussels"
windows = { weekdays = ["09:00-18:00"] }

[calendar.holidays]
country = "BE"

[priorities]
set_by = "client"
default = "P3"

[clocks.response]
start = ["registered"]
stop = ["responded"]
targets = { P1 = "2h", P2 = "4h", P3 = "6h", P4 = "8h" }

[clocks.resolution]
start = ["cause_confirmed"]
stop = ["resolved"]
targets = { P1 = "8h", P2 = "24h", P3 = "40h", P4 = "120h" }

[compliance]
period = "biweekly"
anchor = "2026-01-05"
targets = { response = 0.9, resolution = 0.9 }

[[credits]]
clock = "resolution"
priorities = ["P1", "P2"]
share_of_invoice = 0.25

[deadlines]
change_request_response = "10wd"

[maintenance]
notice = "72h"
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_base_policy_is_valid(tmp_path: Path) -> None:
    p = load_policy(write(tmp_path / "base.toml", BASE))
    assert p.name == "base"
    assert p.source == str(tmp_path / "base.toml")
    assert p.deadline("P1", "response", datetime(2026, 11, 20, 17, tzinfo=BXL)) == \
        datetime(2026, 11, 23, 10, tzinfo=BXL)


def test_version_follows_the_bytes() -> None:
    v1 = parse_policy(BASE.encode(), "a.toml").version
    assert parse_policy(BASE.encode(), "b.toml").version == v1  # stable, whatever the source
    assert len(v1) == 12
    assert parse_policy((BASE + "# a comment\n").encode(), "a.toml").version != v1
    changed = BASE.replace('P1 = "2h"', 'P1 = "3h"').encode()
    assert parse_policy(changed, "a.toml").version != v1


def test_reload_after_edit(tmp_path: Path) -> None:
    path = write(tmp_path / "edited.toml", BASE)
    first = load_policy(path)
    assert load_policy(path).version == first.version  # unchanged file: same version
    assert first.target("P1", "response") == hours(2)

    # same size, so only the modification time tells the edit apart
    write(path, BASE.replace('P1 = "2h"', 'P1 = "3h"'))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, later(st.st_mtime_ns)))
    second = load_policy(path)
    assert second.target("P1", "response") == hours(3)
    assert second.version != first.version

    # a rewrite to the first content loads the first content again
    write(path, BASE)
    os.utime(path, ns=(st.st_atime_ns, later(st.st_mtime_ns, 2)))
    third = load_policy(path)
    assert third.target("P1", "response") == hours(2)
    assert third.version == first.version


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(tmp_path: Path) -> None:
    # deploy tools that preserve timestamps: only the content (and the inode's ctime) changed
    path = write(tmp_path / "kept.toml", BASE)
    before = path.stat()
    assert load_policy(path).target("P1", "response") == hours(2)
    write(path, BASE.replace('P1 = "2h"', 'P1 = "3h"'))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert load_policy(path).target("P1", "response") == hours(3)


def later(mtime_ns: int, seconds: int = 1) -> int:
    """An mtime ``seconds`` after ``mtime_ns``, so the edit is visible however coarse the clock."""
    return mtime_ns + seconds * 1_000_000_000


# -- invalid policy files -----------------------------------------------------------------------


@dataclass(frozen=True)
class Broken:
    id: str
    old: str  # text of BASE to replace (must occur in BASE)
    new: str
    key: str  # the key the error should name
    reason: tuple[str, ...]  # fragments the reason must contain
    key_bug: str = ""  # why the key is wrong today (an xfail), if it is
    reason_bug: str = ""  # why the reason is unclear today (an xfail), if it is


COMPLIANCE = 'period = "biweekly"\nanchor = "2026-01-05"\ntargets = { response = 0.9, ' \
             'resolution = 0.9 }\n'
KEY_IS_CALENDAR = "calendar errors are raised in a model validator: the key is just 'calendar'"
KEY_IS_EMPTY = "cross checks in _PolicyFile._cross raise a plain ValueError: the key is ''"

BROKEN = [
    Broken("missing-section", "[compliance]\n" + COMPLIANCE, "", "compliance", ("missing",)),
    Broken("missing-policy-table", '[policy]\nname = "base"\ntitle = "Base"\n', "", "policy",
           ("missing",)),
    Broken("missing-calendar",
           '[calendar]\ntimezone = "Europe/Brussels"\nwindows = { weekdays = ["09:00-18:00"] }'
           '\n\n[calendar.holidays]\ncountry = "BE"\n', "", "calendar", ("missing",)),
    Broken("unknown-key", 'title = "Base"', 'title = "Base"\ncolour = "red"', "policy.colour",
           ("unknown key",)),
    Broken("unknown-section", "[maintenance]", '[escalation]\nafter = "1h"\n\n[maintenance]',
           "escalation", ("unknown key",)),
    Broken("window-not-hh-mm", '"09:00-18:00"', '"9-18"', "calendar.windows.weekdays[0]",
           ("'9-18'", "HH:MM-HH:MM")),
    Broken("window-backwards", '"09:00-18:00"', '"18:00-09:00"', "calendar.windows.weekdays[0]",
           ("'18:00-09:00'", "ends before it starts")),
    Broken("window-past-midnight", '"09:00-18:00"', '"09:00-25:00"',
           "calendar.windows.weekdays[0]", ("'09:00-25:00'", "24:00")),
    Broken("windows-overlap", '["09:00-18:00"]', '["09:00-13:00", "12:00-18:00"]',
           "calendar.windows", ("overlap", "09:00-13:00", "12:00-18:00")),
    Broken("windows-overlap-across-groups", '{ weekdays = ["09:00-18:00"] }',
           '{ weekdays = ["09:00-18:00"], mon = ["17:00-19:00"] }', "calendar.windows",
           ("overlap", "mon", "17:00-19:00")),
    Broken("unknown-weekday", "{ weekdays =", "{ workdays =", "calendar.windows.workdays",
           ("'workdays'", "mon..sun", "weekdays")),
    Broken("no-windows", '{ weekdays = ["09:00-18:00"] }', "{}", "calendar.windows",
           ("at least one service window",)),
    Broken("unknown-time-zone", '"Europe/Brussels"', '"Europe/Gent"', "calendar.timezone",
           ("'Europe/Gent'", "IANA")),
    Broken("unknown-country", 'country = "BE"', 'country = "XX"', "calendar.holidays.country",
           ("'XX'",)),
    Broken("unknown-subdivision", 'country = "BE"', 'country = "DE"\nsubdivision = "ZZ"',
           "calendar.holidays.subdivision", ("'ZZ'",)),
    Broken("named-day-date-and-easter", "[priorities]",
           '[[calendar.holidays.days]]\nname = "Feast"\ndate = "01-02"\neaster = 1\n\n'
           "[priorities]", "calendar.holidays.days[0]",
           ("'Feast'", "exactly one of 'date' (MM-DD) or 'easter'")),
    Broken("named-day-neither", "[priorities]",
           '[[calendar.holidays.days]]\nname = "Feast"\n\n[priorities]',
           "calendar.holidays.days[0]", ("'Feast'", "exactly one of")),
    Broken("named-day-not-mm-dd", "[priorities]",
           '[[calendar.holidays.days]]\nname = "Feast"\ndate = "2-1"\n\n[priorities]',
           "calendar.holidays.days[0]", ("'Feast'", "'2-1'", "MM-DD")),
    Broken("named-day-no-such-date", "[priorities]",
           '[[calendar.holidays.days]]\nname = "Feast"\ndate = "02-30"\n\n[priorities]',
           "calendar.holidays.days[0]", ("'Feast'", "'02-30'")),
    Broken("named-day-bad-move", "[priorities]",
           '[[calendar.holidays.days]]\nname = "Feast"\ndate = "04-27"\nmove = { sunday = -1 }'
           "\n\n[priorities]", "calendar.holidays.days[0]",
           ("'sunday'", "not a weekday", "mon..sun")),
    Broken("unknown-event", 'stop = ["responded"]', 'stop = ["answered"]',
           "clocks.response.stop[0]", ("unknown event 'answered'", "responded")),
    Broken("missing-priority-target", ', P4 = "8h" }', " }", "clocks.response.targets",
           ("no target for P4",)),
    Broken("unknown-priority-target", 'P4 = "8h" }', 'P4 = "8h", P5 = "1h" }',
           "clocks.response.targets.P5", ("'P5'", "P1, P2, P3 or P4")),
    Broken("bad-duration", 'P1 = "2h"', 'P1 = "2 hours"', "clocks.response.targets.P1",
           ("'2 hours' is not a duration", "'2h'")),
    Broken("zero-duration", 'P1 = "2h"', 'P1 = "0m"', "clocks.response.targets.P1",
           ("'0m'", "more than zero")),
    Broken("number-duration", 'P1 = "2h"', "P1 = 2", "clocks.response.targets.P1",
           ("expected a duration string", "'2h'")),
    Broken("working-days-as-target", 'P1 = "2h"', 'P1 = "1wd"', "clocks.response.targets.P1",
           ("working days are not allowed",)),
    Broken("pause-without-resume", 'stop = ["resolved"]', 'stop = ["resolved"]\npause = ["paused"]',
           "clocks.resolution", ("pause and resume go together",)),
    Broken("compliance-unknown-clock", "response = 0.9,", "reaction = 0.9,", "compliance.targets",
           ("'reaction' is not one of the clocks", "response")),
    Broken("compliance-share-over-1", "response = 0.9,", "response = 90,",
           "compliance.targets.response", ("less than or equal to 1", "90")),
    Broken("credit-share-over-1", "share_of_invoice = 0.25", "share_of_invoice = 1.5",
           "credits[0].share_of_invoice", ("less than or equal to 1", "1.5")),
    Broken("credit-unknown-clock", 'clock = "resolution"', 'clock = "solution"',
           "credits[0].clock", ("'solution' is not one of the clocks",)),
    Broken("credit-negative-free-breaches", "share_of_invoice = 0.25",
           "share_of_invoice = 0.25\nfree_breaches = -1", "credits[0].free_breaches",
           ("greater than or equal to 0",)),
    Broken("bad-set-by", 'set_by = "client"', 'set_by = "boss"', "priorities.set_by",
           ("'client' or 'provider'", "'boss'")),
    Broken("bad-anchor", 'anchor = "2026-01-05"', 'anchor = "soon"', "compliance.anchor",
           ("date", "'soon'")),
    Broken("fractional-working-days", '"10wd"', '"1.5wd"', "deadlines.change_request_response",
           ("'1.5wd'", "whole number")),
    # the TOML pitfall: a key written after a [table] header belongs to that table
    Broken("placeholders-in-policy-table", 'title = "Base"\n',
           'title = "Base"\nplaceholders = ["clocks.response.targets"]\n',
           "policy.placeholders", ("unknown key",)),
    Broken("placeholders-at-the-end", 'notice = "72h"\n',
           'notice = "72h"\nplaceholders = ["clocks.response.targets"]\n',
           "maintenance.placeholders", ("unknown key",)),
]


def _cases(attr: str) -> list[object]:
    out: list[object] = []
    for b in BROKEN:
        bug = getattr(b, attr)
        marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
        out.append(pytest.param(b, id=b.id, marks=marks))
    return out


def load_broken(tmp_path: Path, b: Broken) -> PolicyError:
    assert b.old in BASE, f"{b.id}: mutation does not apply"
    path = write(tmp_path / "broken.toml", BASE.replace(b.old, b.new, 1))
    with pytest.raises(PolicyError) as exc:
        load_policy(path)
    return exc.value


@pytest.mark.parametrize("b", _cases("reason_bug"))
def test_broken_policy_names_the_file_and_the_reason(tmp_path: Path, b: Broken) -> None:
    err = load_broken(tmp_path, b)
    assert isinstance(err, ConfigError)  # callers that catch config mistakes catch these too
    assert err.source == str(tmp_path / "broken.toml")
    for fragment in b.reason:
        assert fragment in err.reason, (fragment, err.reason)
    # the key points into the right part of the file, at least at the section level
    assert err.key.split(".")[0].split("[")[0] == b.key.split(".")[0].split("[")[0] or \
        (b.key_bug == KEY_IS_EMPTY and err.key == "")
    assert str(tmp_path / "broken.toml") in str(err)


@pytest.mark.parametrize("b", _cases("key_bug"))
def test_broken_policy_names_the_key(tmp_path: Path, b: Broken) -> None:
    assert load_broken(tmp_path, b).key == b.key


def test_placeholders_after_deadlines_table(tmp_path: Path) -> None:
    # [deadlines] takes any name, so a misplaced 'placeholders' there would read as a deadline:
    # the loader recognises the TOML pitfall and says where the key belongs
    text = BASE.replace('change_request_response = "10wd"\n',
                        'change_request_response = "10wd"\nplaceholders = ["x"]\n')
    with pytest.raises(PolicyError) as exc:
        load_policy(write(tmp_path / "p.toml", text))
    assert exc.value.key == "deadlines.placeholders"
    assert "top of the file" in exc.value.reason and "[table]" in exc.value.reason


def test_placeholders_at_the_top_are_accepted(tmp_path: Path) -> None:
    text = 'placeholders = ["clocks.response.targets"]\n\n' + BASE
    p = load_policy(write(tmp_path / "p.toml", text))
    assert p.is_placeholder("clocks.response.targets")
    assert not p.is_placeholder("clocks.resolution.targets")


def test_not_toml(tmp_path: Path) -> None:
    path = write(tmp_path / "p.toml", "this is not toml ][\n")
    with pytest.raises(PolicyError) as exc:
        load_policy(path)
    assert exc.value.source == str(path)
    assert exc.value.key == ""
    assert "not valid TOML" in exc.value.reason and "line 1" in exc.value.reason


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_bytes(BASE.replace("Base", "Bäse").encode("latin-1"))
    with pytest.raises(PolicyError) as exc:
        load_policy(path)
    assert exc.value.source == str(path)
    assert "utf-8" in exc.value.reason.lower()


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "gone.toml"
    with pytest.raises(PolicyError) as exc:
        load_policy(path)
    assert exc.value.source == str(path)
    assert "cannot read" in exc.value.reason


def test_unknown_builtin_lists_the_builtins() -> None:
    with pytest.raises(PolicyError) as exc:
        load_policy("nope")
    assert exc.value.source == "nope"
    assert "no such policy" in exc.value.reason
    for name in ("demo247", "panenco", "spinpanel"):
        assert name in exc.value.reason


def test_name_is_looked_up_in_search_folders_first(tmp_path: Path) -> None:
    write(tmp_path / "panenco.toml", BASE)
    assert load_policy("panenco", (tmp_path,)).name == "base"
    assert load_policy("panenco").name == "panenco"


def test_huge_duration_is_a_policy_error(tmp_path: Path) -> None:
    path = write(tmp_path / "p.toml", BASE.replace('P1 = "2h"', 'P1 = "99999999999h"'))
    with pytest.raises(PolicyError) as exc:
        load_policy(path)
    assert exc.value.key == "clocks.response.targets.P1"


def test_duration_rounding_to_zero_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "p.toml", BASE.replace('P1 = "2h"', 'P1 = "0.0000001s"'))
    with pytest.raises(PolicyError):
        load_policy(path)


def test_subdivision_without_country_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "p.toml", BASE.replace('country = "BE"', 'subdivision = "BY"'))
    with pytest.raises(PolicyError) as exc:
        load_policy(path)
    assert exc.value.key.startswith("calendar.holidays")


# -- a custom policy ----------------------------------------------------------------------------


BER = ZoneInfo("Europe/Berlin")

CUSTOM = """\
[policy]
name = "custom"
title = "Split windows, weekend hours, Bavarian holidays"

[calendar]
timezone = "Europe/Berlin"
closed = [
    { date = 2026-03-04, name = "Company outing" },
    { date = "2026-12-31" },
]

[calendar.windows]
mon = ["08:00-12:00", "13:00-17:00"]
tue = ["13:00-17:00", "08:00-12:00"]
wed = ["08:00-12:00", "13:00-17:00"]
thu = ["08:00-12:00", "13:00-17:00"]
fri = ["08:00-12:00"]
weekend = ["10:00-14:00"]

[calendar.holidays]
country = "DE"
subdivision = "BY"

[[calendar.holidays.days]]
name = "Founders' Day"
date = "03-07"
move = { sat = 2, sun = 1 }

[[calendar.holidays.days]]
name = "Good Friday"
easter = -2

[clocks.response]
start = ["registered"]
stop = ["responded"]
pause = ["paused"]
resume = ["resumed"]
targets = { P1 = "1h", P2 = "2h", P3 = "3h", P4 = "1h30m" }

[compliance]
period = "quarterly"
anchor = 2026-01-01
targets = { response = 0.95 }

[deadlines]
change_request_response = "3wd"
"""


@pytest.fixture
def custom(tmp_path: Path) -> Policy:
    return load_policy(write(tmp_path / "custom.toml", CUSTOM))


def test_custom_windows(custom: Policy) -> None:
    cal = custom.calendar
    split = [(8 * 60, 12 * 60), (13 * 60, 17 * 60)]
    assert list(cal.windows[0]) == split
    assert list(cal.windows[1]) == split  # written out of order, kept sorted
    assert list(cal.windows[4]) == [(8 * 60, 12 * 60)]
    assert list(cal.windows[5]) == list(cal.windows[6]) == [(10 * 60, 14 * 60)]
    # Mon 2 Mar 2026: 8 h of service; a whole week: 4 x 8 h + 4 h Friday + 2 x 4 h weekend
    monday = datetime(2026, 3, 2, tzinfo=BER)
    assert cal.working_time(monday, monday + timedelta(days=1)) == hours(8)
    week = datetime(2026, 3, 16, tzinfo=BER)
    assert cal.working_time(week, week + timedelta(days=7)) == hours(44)


@pytest.mark.parametrize(
    ("priority", "start", "due"),
    [
        # 1 h to noon, lunch not counted, 1 h from 13:00
        ("P2", datetime(2026, 3, 2, 11, tzinfo=BER), datetime(2026, 3, 2, 14, tzinfo=BER)),
        # 1 h Tuesday, Wed 4 Mar closed (company outing), 1 h Thursday
        ("P2", datetime(2026, 3, 3, 16, tzinfo=BER), datetime(2026, 3, 5, 9, tzinfo=BER)),
        # Friday closes at noon: 1 h Friday, 2 h Saturday from 10:00 (weekend window)...
        ("P3", datetime(2026, 3, 13, 11, tzinfo=BER), datetime(2026, 3, 14, 12, tzinfo=BER)),
        # Founders' Day (Sat 7 Mar 2026) moves to Monday, so Saturday is open: 1 h Friday,
        # 30 min Saturday from 10:00
        ("P4", datetime(2026, 3, 6, 11, tzinfo=BER), datetime(2026, 3, 7, 10, 30, tzinfo=BER)),
        # Sunday 8 Mar 13:00: 1 h to 14:00, Mon 9 Mar closed (Founders' Day moved), Tue 08:00
        ("P2", datetime(2026, 3, 8, 13, tzinfo=BER), datetime(2026, 3, 10, 9, tzinfo=BER)),
    ],
)
def test_custom_deadline(custom: Policy, priority: str, start: datetime, due: datetime) -> None:
    assert custom.deadline(priority, "response", start) == due


def test_custom_closed_days(custom: Policy) -> None:
    cal = custom.calendar
    assert cal.closed_reason(date(2026, 3, 4)) == "Company outing"
    assert cal.closed_reason(date(2026, 12, 31)) == "closed"  # no name given
    assert cal.closed_reason(date(2026, 3, 9)) == "Founders' Day"  # Sat 7 Mar moved to Monday
    assert cal.is_working_day(date(2026, 3, 7))
    assert cal.closed_reason(date(2026, 4, 3)) is not None  # Good Friday (easter = -2)
    assert not cal.is_working_day(date(2026, 1, 6))  # Epiphany, Bavaria only
    assert not cal.is_working_day(date(2026, 10, 3))  # German Unity Day, a Saturday
    assert cal.is_working_day(date(2026, 3, 5))


def test_subdivision_adds_its_holidays(tmp_path: Path) -> None:
    plain = load_policy(write(tmp_path / "de.toml", CUSTOM.replace('subdivision = "BY"\n', "")))
    bavaria = load_policy(write(tmp_path / "by.toml", CUSTOM))
    epiphany = date(2026, 1, 6)  # a Tuesday
    assert plain.calendar.is_working_day(epiphany)
    assert not bavaria.calendar.is_working_day(epiphany)
    assert bavaria.calendar.closed_reason(epiphany) is not None
    # both have the federal holidays
    assert not plain.calendar.is_working_day(date(2026, 5, 1))
    assert not bavaria.calendar.is_working_day(date(2026, 5, 1))


def test_custom_working_day_deadline(custom: Policy) -> None:
    # after Tue 3 Mar: (Wed 4 closed), Thu 5, Fri 6, Sat 7 (weekend windows make it a working
    # day) -> close of Saturday, 14:00
    assert custom.working_day_deadline("change_request_response",
                                       datetime(2026, 3, 3, 9, tzinfo=BER)) == \
        datetime(2026, 3, 7, 14, tzinfo=BER)


def test_custom_compliance_and_pause(custom: Policy) -> None:
    assert custom.compliance.period == "quarterly"
    assert custom.compliance.anchor == date(2026, 1, 1)
    assert dict(custom.compliance.targets) == {"response": 0.95}
    assert custom.clock("response").pause == {EventKind.PAUSED}
    assert custom.target("p4", "response") == timedelta(hours=1, minutes=30)
    assert custom.credits == ()


def test_daily_group_adds_to_single_days(tmp_path: Path) -> None:
    text = CUSTOM.replace(
        'mon = ["08:00-12:00", "13:00-17:00"]\n', 'daily = ["06:00-08:00"]\nmon = ["08:00-12:00"]\n'
    ).replace('tue = ["13:00-17:00", "08:00-12:00"]\n', "").replace(
        'wed = ["08:00-12:00", "13:00-17:00"]\n', "").replace(
        'thu = ["08:00-12:00", "13:00-17:00"]\n', "").replace(
        'fri = ["08:00-12:00"]\n', "").replace('weekend = ["10:00-14:00"]\n', "")
    cal = load_policy(write(tmp_path / "daily.toml", text)).calendar
    assert list(cal.windows[0]) == [(6 * 60, 8 * 60), (8 * 60, 12 * 60)]
    assert all(list(cal.windows[wd]) == [(6 * 60, 8 * 60)] for wd in range(1, 7))
    monday = datetime(2026, 3, 16, tzinfo=BER)
    assert cal.working_time(monday, monday + timedelta(days=7)) == hours(6 + 6 * 2)
    # touching windows run on: 06:00 + 3 h on a Monday is 09:00
    assert cal.add(datetime(2026, 3, 16, 6, tzinfo=BER), hours(3)) == \
        datetime(2026, 3, 16, 9, tzinfo=BER)
