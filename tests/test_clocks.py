"""Clock state derived from events: start, pause, stop, reopen, breach and priority changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clocks import ClockState, ClockStatus, derive_clocks
from bot.model import Event, EventKind
from bot.priority import Priority
from bot.sla import load_policy
from bot.sla.policy import Policy

BRU = ZoneInfo("Europe/Brussels")
PANENCO = load_policy("panenco")
DEMO = load_policy("demo247")
T0 = datetime(2026, 11, 20, 17, 0, tzinfo=BRU)  # Friday 17:00, one working hour before closing


def ev(kind: EventKind, at: datetime) -> Event:
    return Event(kind, at, "t")


def incident_clocks(policy: Policy, priority: Priority, events: list[Event],
                    now: datetime) -> dict[str, ClockState]:
    """The clocks of an incident (a change request runs ``bot.change_requests``' instead)."""
    return derive_clocks(policy.clocks, policy, priority, events, now)


def test_not_started_clock_has_no_due() -> None:
    clocks = incident_clocks(PANENCO, Priority.P1, [ev(EventKind.REGISTERED, T0)], T0)
    res = clocks["resolution"]
    assert res.status == ClockStatus.NOT_STARTED and res.due is None and not res.running


def test_running_response_clock_counts_working_time_only() -> None:
    now = datetime(2026, 11, 23, 9, 30, tzinfo=BRU)  # Monday 09:30
    c = incident_clocks(PANENCO, Priority.P1, [ev(EventKind.REGISTERED, T0)], now)["response"]
    assert c.status == ClockStatus.RUNNING and c.running
    assert c.due == datetime(2026, 11, 23, 10, 0, tzinfo=BRU)  # DESIGN example: 1h Fri + 1h Mon
    assert c.used == timedelta(hours=1, minutes=30)
    assert c.left == timedelta(minutes=30)


def test_response_exactly_at_due_is_met_and_a_minute_later_is_breached() -> None:
    due = datetime(2026, 11, 23, 10, 0, tzinfo=BRU)
    events = [ev(EventKind.REGISTERED, T0), ev(EventKind.RESPONDED, due)]
    c = incident_clocks(PANENCO, Priority.P1, events, due + timedelta(days=3))["response"]
    assert c.status == ClockStatus.MET and c.stopped_at == due and c.used == timedelta(hours=2)
    events[1] = ev(EventKind.RESPONDED, due + timedelta(minutes=1))
    c = incident_clocks(PANENCO, Priority.P1, events, due + timedelta(days=3))["response"]
    assert c.status == ClockStatus.BREACHED and c.due == due
    assert c.used - c.target == timedelta(minutes=1)


def test_overdue_outside_hours_is_breached_though_no_working_time_passed() -> None:
    start = datetime(2026, 12, 24, 16, 0, tzinfo=BRU)  # due exactly at 18:00 (closing)
    now = datetime(2026, 12, 24, 19, 0, tzinfo=BRU)
    c = incident_clocks(PANENCO, Priority.P1, [ev(EventKind.REGISTERED, start)], now)["response"]
    assert c.due == datetime(2026, 12, 24, 18, 0, tzinfo=BRU)
    assert c.status == ClockStatus.BREACHED and c.running and c.left == timedelta(0)


def test_priority_change_re_derives_the_target_from_the_start() -> None:
    events = [ev(EventKind.REGISTERED, T0)]
    now = datetime(2026, 11, 23, 9, 0, tzinfo=BRU)
    p1 = incident_clocks(PANENCO, Priority.P1, events, now)["response"]
    p4 = incident_clocks(PANENCO, Priority.P4, events, now)["response"]
    assert p1.due == datetime(2026, 11, 23, 10, 0, tzinfo=BRU)
    assert p4.due == datetime(2026, 11, 23, 16, 0, tzinfo=BRU)  # 8h: 1h Fri + 7h Mon


def test_resolution_clock_starts_at_cause_confirmed() -> None:
    confirmed = datetime(2026, 11, 23, 9, 0, tzinfo=BRU)
    events = [ev(EventKind.REGISTERED, T0), ev(EventKind.RESPONDED, T0 + timedelta(minutes=5)),
              ev(EventKind.CAUSE_CONFIRMED, confirmed)]
    c = incident_clocks(PANENCO, Priority.P1, events, confirmed)["resolution"]
    assert c.started_at == confirmed and c.due == datetime(2026, 11, 23, 17, 0, tzinfo=BRU)


def test_pause_stops_counting_and_resume_pushes_the_due_instant() -> None:
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    events = [ev(EventKind.REGISTERED, t0), ev(EventKind.PAUSED, t0 + timedelta(minutes=10))]
    paused = incident_clocks(DEMO, Priority.P3, events, t0 + timedelta(hours=5))["response"]
    assert paused.status == ClockStatus.PAUSED and paused.due is None and not paused.running
    assert paused.used == timedelta(minutes=10) and paused.left == timedelta(minutes=20)
    events.append(ev(EventKind.RESUMED, t0 + timedelta(hours=1)))
    resumed = incident_clocks(DEMO, Priority.P3, events, t0 + timedelta(hours=1))["response"]
    assert resumed.status == ClockStatus.RUNNING
    assert resumed.due == t0 + timedelta(hours=1, minutes=20)


def test_a_clock_breached_before_a_pause_stays_breached() -> None:
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    events = [ev(EventKind.REGISTERED, t0), ev(EventKind.PAUSED, t0 + timedelta(minutes=45))]
    c = incident_clocks(DEMO, Priority.P3, events, t0 + timedelta(hours=2))["response"]
    assert c.status == ClockStatus.BREACHED and c.due == t0 + timedelta(minutes=30)
    assert not c.running


def test_policy_without_pause_events_ignores_pauses() -> None:
    events = [ev(EventKind.REGISTERED, T0), ev(EventKind.PAUSED, T0 + timedelta(minutes=10))]
    now = datetime(2026, 11, 23, 9, 30, tzinfo=BRU)
    c = incident_clocks(PANENCO, Priority.P1, events, now)["response"]
    assert c.status == ClockStatus.RUNNING and c.used == timedelta(hours=1, minutes=30)


def test_reopen_continues_from_the_working_time_already_used() -> None:
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    events = [ev(EventKind.REGISTERED, t0), ev(EventKind.CAUSE_CONFIRMED, t0),
              ev(EventKind.RESOLVED, t0 + timedelta(minutes=20)),
              ev(EventKind.REOPENED, t0 + timedelta(hours=3))]
    before = incident_clocks(DEMO, Priority.P1, events[:3], t0 + timedelta(hours=2))["resolution"]
    assert before.status == ClockStatus.MET and before.used == timedelta(minutes=20)
    after = incident_clocks(DEMO, Priority.P1, events, t0 + timedelta(hours=3))["resolution"]
    assert after.status == ClockStatus.RUNNING
    assert after.due == t0 + timedelta(hours=3, minutes=10)  # 30m target, 20m already used


def test_events_after_now_are_not_seen() -> None:
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    events = [ev(EventKind.REGISTERED, t0), ev(EventKind.RESPONDED, t0 + timedelta(minutes=3))]
    c = incident_clocks(DEMO, Priority.P1, events, t0 + timedelta(minutes=1))["response"]
    assert c.status == ClockStatus.RUNNING and c.used == timedelta(minutes=1)


def test_second_stop_event_changes_nothing() -> None:
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    events = [ev(EventKind.REGISTERED, t0), ev(EventKind.RESPONDED, t0 + timedelta(minutes=2)),
              ev(EventKind.RESPONDED, t0 + timedelta(minutes=9))]
    c = incident_clocks(DEMO, Priority.P1, events, t0 + timedelta(hours=1))["response"]
    assert c.status == ClockStatus.MET and c.stopped_at == t0 + timedelta(minutes=2)
