"""The reminder planner (pure): thresholds in working time, keys, supersession of a backlog,
the service window, pauses and met clocks, priority changes, and the alert's words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.change_requests import KINDS, clock_specs
from bot.clocks import derive_clocks
from bot.errors import PolicyError
from bot.model import Channel, Event, EventKind, TicketStatus
from bot.priority import Priority
from bot.reminders import NOTHING, build_alert, decide, earliest, next_opening, plan_ticket
from bot.sla.loader import load_policy, parse_policy
from bot.ticket import Ticket

DEMO = load_policy("demo247")
PANENCO = load_policy("panenco")
BRU = ZoneInfo("Europe/Brussels")
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
P1, P2, P3, P4 = Priority.P1, Priority.P2, Priority.P3, Priority.P4


def ev(kind: EventKind, at: datetime, **data: object) -> Event:
    return Event(kind, at, "test", dict(data))


def plan(events: list[Event], priority: Priority, now: datetime, policy=DEMO,  # type: ignore[no-untyped-def]
         specs=None):
    return plan_ticket(1, "T-1001", priority, policy, events, now,
                       specs=policy.clocks if specs is None else specs)


def at(minutes: float, base: datetime = T0) -> datetime:
    return base + timedelta(minutes=minutes)


def test_thresholds_of_a_running_clock_in_order_with_stable_keys() -> None:
    events = [ev(EventKind.REGISTERED, T0)]
    rs = plan(events, P1, at(1))  # demo247 P1 response: 5 minutes; shares 50/75/90%, repeat 5m
    assert [(r.key, r.at) for r in rs] == [
        ("T-1001/response/P1-50%/0", at(2.5)),
        ("T-1001/response/P1-75%/0", at(3.75)),
        ("T-1001/response/P1-90%/0", at(4.5)),
        ("T-1001/response/P1-breach/0", at(5)),
        ("T-1001/response/P1-breach/1", at(10)),
    ]
    assert [r.kind for r in rs][-2:] == ["breach", "breach-repeat"]
    d = decide(rs, set(), at(1))
    assert d.send == () and d.skip == () and d.next_at == at(2.5)
    d = decide(rs, set(), at(2.5))
    assert [r.key for r in d.send] == ["T-1001/response/P1-50%/0"]
    assert d.next_at == at(3.75)
    assert decide(rs, {"T-1001/response/P1-50%/0"}, at(2.5)).send == ()


def test_a_backlog_goes_out_as_one_late_reminder_and_the_rest_is_skipped() -> None:
    events = [ev(EventKind.REGISTERED, T0)]
    now = at(4.6)  # down since 2m; 50%, 75% and 90% all passed meanwhile
    rs = plan(events, P1, now)
    d = decide(rs, {"T-1001/response/P1-50%/0"}, now)
    assert [r.key for r in d.send] == ["T-1001/response/P1-90%/0"]
    assert [(r.key, why) for r, why in d.skip] == [
        ("T-1001/response/P1-75%/0", "superseded by T-1001/response/P1-90%/0")]
    assert not d.send[0].late(now)  # 6 seconds after its time is not late
    assert d.send[0].late(at(6))


def test_repeats_while_breached_the_latest_goes_out_and_the_missed_ones_are_superseded() -> None:
    events = [ev(EventKind.REGISTERED, T0)]
    now = at(27)  # breached at 5, repeats every 5 minutes: 10, 15, 20, 25 passed
    rs = plan(events, P1, now)
    repeats = [(r.repeat, r.due_at) for r in rs if r.kind == "breach-repeat"]
    assert repeats == [(1, at(10)), (2, at(15)), (3, at(20)), (4, at(25)), (5, at(30))]
    thresholds = {r.key for r in rs if r.kind != "breach-repeat"}  # sent before
    d = decide(rs, thresholds, now)
    assert [r.key for r in d.send] == ["T-1001/response/P1-breach/4"]
    assert [(r.key, why) for r, why in d.skip] == [
        (f"T-1001/response/P1-breach/{n}", "superseded by T-1001/response/P1-breach/4")
        for n in (1, 2, 3)]
    assert d.next_at == at(30)
    # repeats are recorded in order: with 2 recorded, 1 is too and only 3 is left to skip
    done = thresholds | {f"T-1001/response/P1-breach/{n}" for n in (1, 2)}
    cut = plan_ticket(1, "T-1001", P1, DEMO, events, now, specs=DEMO.clocks, done=done)
    assert [r.key for r, _ in decide(cut, done, now).skip] == ["T-1001/response/P1-breach/3"]


def test_met_paused_and_not_started_clocks_have_no_reminders() -> None:
    registered = [ev(EventKind.REGISTERED, T0)]
    assert plan([*registered, ev(EventKind.RESPONDED, at(1))], P1, at(2)) == []
    assert plan([*registered, ev(EventKind.PAUSED, at(1))], P1, at(2)) == []
    # resumed: the paused minute does not count, so every threshold moves a minute later
    rs = plan([*registered, ev(EventKind.PAUSED, at(1)), ev(EventKind.RESUMED, at(2))], P1, at(2))
    assert [r.at for r in rs][:4] == [at(3.5), at(4.75), at(5.5), at(6)]
    # the resolution clock has not started: nothing for it
    assert {r.clock for r in rs} == {"response"}


def test_a_threshold_reached_before_a_pause_keeps_its_real_instant() -> None:
    events = [ev(EventKind.REGISTERED, T0), ev(EventKind.PAUSED, at(3)),
              ev(EventKind.RESUMED, at(10))]
    rs = plan(events, P1, at(10))
    fifty = next(r for r in rs if r.threshold == "P1-50%")
    ninety = next(r for r in rs if r.threshold == "P1-90%")
    assert fifty.reached == at(2.5) and fifty.late(at(10))
    assert ninety.at == at(11.5)  # 1.5 of the 4.5 minutes were still to count after the pause


def test_a_priority_change_gives_the_new_targets_thresholds() -> None:
    events = [ev(EventKind.REGISTERED, T0)]
    p4 = plan(events, P4, at(4))  # 1h target
    assert p4[0].key == "T-1001/response/P4-50%/0" and p4[0].at == at(30)
    p1 = plan(events, P1, at(4))  # raised to P1 four minutes in: 50% and 75% already passed
    d = decide(p1, set(), at(4))
    assert [r.key for r in d.send] == ["T-1001/response/P1-75%/0"]
    assert d.next_at == at(4.5)


def test_working_time_and_the_service_window() -> None:
    mon = datetime(2026, 11, 23, tzinfo=BRU)  # panenco: Mon-Fri 09:00-18:00 Brussels
    # P3 response (6h) registered Monday 12:00: 50% at 15:00, 75% at 16:30, 30m left at 17:30;
    # the breach at closing time 18:00 goes out at Tuesday's opening (P3 is not "always")
    events = [ev(EventKind.REGISTERED, mon.replace(hour=12))]
    rs = plan(events, P3, mon.replace(hour=12), PANENCO)
    assert [(r.threshold, r.reached.astimezone(BRU).strftime("%a %H:%M"),
             r.at.astimezone(BRU).strftime("%a %H:%M")) for r in rs] == [
        ("P3-50%", "Mon 15:00", "Mon 15:00"),
        ("P3-75%", "Mon 16:30", "Mon 16:30"),
        ("P3-30m-left", "Mon 17:30", "Mon 17:30"),
        ("P3-breach", "Mon 18:00", "Tue 09:00"),
        ("P3-breach", "Tue 10:00", "Tue 10:00"),  # repeat 1: one working hour later
    ]
    # P1 goes out at any hour: breach at 18:00 and repeats by the wall clock
    p1 = plan([ev(EventKind.REGISTERED, mon.replace(hour=16))], P1, mon.replace(hour=16),
              PANENCO)
    assert [r.at.astimezone(BRU).strftime("%a %H:%M") for r in p1][-2:] == ["Mon 18:00",
                                                                           "Mon 19:00"]
    # the bot comes back at 20:00 having missed the 17:30 reminder of a P3: it waits for 09:00
    late = plan(events[:1], P3, mon.replace(hour=17, minute=45), PANENCO)
    missed = next(r for r in late if r.threshold == "P3-30m-left")
    assert missed.at == mon.replace(hour=17, minute=45)
    night = plan(events[:1], P3, mon.replace(hour=20), PANENCO)
    d = decide(night, {"T-1001/response/P3-50%/0", "T-1001/response/P3-75%/0"},
               mon.replace(hour=20))
    assert d.send == () and d.next_at == datetime(2026, 11, 24, 9, 0, tzinfo=BRU)


def test_next_opening() -> None:
    fri = datetime(2026, 11, 20, tzinfo=BRU)
    cal = PANENCO.calendar
    assert next_opening(cal, fri.replace(hour=10)) == fri.replace(hour=10)
    assert next_opening(cal, fri.replace(hour=18)) == datetime(2026, 11, 23, 9, tzinfo=BRU)
    assert next_opening(cal, datetime(2026, 12, 24, 19, tzinfo=BRU)) == \
        datetime(2026, 12, 28, 9, tzinfo=BRU)  # Christmas (Fri), then the weekend


def test_the_alert_says_what_is_due_when_and_what_stops_it() -> None:
    mon = datetime(2026, 11, 23, 12, 0, tzinfo=BRU)
    t = Ticket(client_id=1, client_name="acme", policy="panenco", subject="Checkout down",
               priority=P2, channel=Channel.EMAIL, status=TicketStatus.NEW, created_at=mon,
               id=1, events=[ev(EventKind.REGISTERED, mon)])
    now = mon + timedelta(hours=3)
    rs = plan_ticket(1, "T-1001", P2, PANENCO, t.events, now, specs=PANENCO.clocks)
    r = decide(rs, set(), now).send[0]
    state = derive_clocks(PANENCO.clocks, PANENCO, P2, t.events, now)["response"]
    a = build_alert(r, t, PANENCO, state, now)
    assert a.key == "T-1001/response/P2-75%/0" and a.kind == "reminder" and not a.late
    assert a.targets == ("triage", "assignee")
    assert "T-1001 (acme, P2): Checkout down" in a.text
    assert "is due Mon 23 Nov 2026 16:00 CET: 1h of working time left (75% of 4h used)" \
        in a.text
    assert "Stops the clock: a response to the client (supportbot tickets respond T-1001); " \
           "closing it." in a.text
    assert "Nobody is assigned" in a.text
    p1 = Ticket(client_id=1, client_name="acme", policy="panenco", subject="Checkout down",
                priority=P1, channel=Channel.EMAIL, status=TicketStatus.NEW, created_at=mon,
                id=1, events=t.events)
    late = now + timedelta(hours=1, minutes=30)  # breached 14:00, repeated 15:00 and 16:00
    rs1 = plan_ticket(1, "T-1001", P1, PANENCO, t.events, late, specs=PANENCO.clocks)
    b = build_alert(decide(rs1, set(), late).send[0], p1, PANENCO,
                    derive_clocks(PANENCO.clocks, PANENCO, P1, t.events, late)["response"], late)
    assert b.kind == "breach-repeat" and b.key == "T-1001/response/P1-breach/2" and b.late
    assert b.targets == ("triage", "assignee", "oncall")
    assert "is BREACHED (reminder 2): it was due Mon 23 Nov 2026 14:00 CET, 2h30m of " \
           "working time ago" in b.text
    assert "Late: this was meant to go out Mon 23 Nov 2026 16:00" in b.text


def policy_text(reminders: str) -> bytes:
    base = Path(load_policy("demo247").source)
    text = base.read_text(encoding="utf-8").split("[reminders]")[0]
    return (text + reminders).encode()


def test_rules_override_per_clock_and_priority() -> None:
    p = parse_policy(policy_text("""
[reminders]
shares = [0.75, 0.5]
repeat_every = "10m"
notify = ["triage"]

[[reminders.rules]]
clocks = ["resolution"]
priorities = ["P1"]
shares = []
before = ["5m", "10m"]
repeat_every = "never"
outside_window = false
"""), "x.toml")
    r = p.reminder_rule("response", P1)
    assert r.shares == (0.5, 0.75) and r.repeat_every == timedelta(minutes=10)
    assert r.targets(P1) == ("triage",) and r.always(P1) and not r.always(P2)
    o = p.reminder_rule("resolution", P1)
    assert o.shares == () and o.before == (timedelta(minutes=10), timedelta(minutes=5))
    assert o.repeat_every is None and not o.always(P1)
    assert p.reminder_rule("resolution", P2).shares == (0.5, 0.75)


@pytest.mark.parametrize(("text", "key", "reason"), [
    ("[reminders]\nshares = [1.0]\n", "reminders.shares[0]", "between 0 and 1"),
    ("[reminders]\nrepeat_every = \"soon\"\n", "reminders.repeat_every", "not a duration"),
    ("[reminders]\nnotify = [\"pager\"]\n", "reminders.notify[0]", "triage"),
    ("[[reminders.rules]]\nclocks = [\"reaction\"]\n", "reminders.rules[0].clocks",
     "'reaction' is not one of the clocks"),
])
def test_reminder_mistakes_name_the_key(text: str, key: str, reason: str) -> None:
    with pytest.raises(PolicyError) as exc:
        parse_policy(policy_text(text), "bad.toml")
    assert exc.value.source == "bad.toml" and exc.value.key == key, exc.value
    assert reason in exc.value.reason


def test_the_cut_plan_decides_exactly_as_the_full_plan() -> None:
    """``plan_ticket(done=...)`` skips calendar work; the decision must not change."""
    import random

    rng = random.Random(7)
    kinds = [EventKind.PAUSED, EventKind.RESUMED, EventKind.RESPONDED, EventKind.CAUSE_CONFIRMED,
             EventKind.PRIORITY_SET]
    mon = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    checked = bounded = 0
    for _ in range(400):
        policy = rng.choice([DEMO, PANENCO])
        start = mon + timedelta(minutes=rng.randrange(0, 5 * 24 * 60))
        events = [ev(EventKind.REGISTERED, start)]
        t = start
        for _ in range(rng.randrange(0, 4)):
            t += timedelta(minutes=rng.randrange(1, 600))
            events.append(ev(rng.choice(kinds), t))
        now = t + timedelta(minutes=rng.choice([rng.uniform(0, 5), rng.randrange(0, 3000)]))
        prio = rng.choice(list(Priority))
        specs = clock_specs(policy, rng.choice(KINDS), start)  # change requests too
        full = plan(events, prio, now, policy, specs)
        done = {r.key for r in full if rng.random() < 0.5}
        # as the engine records them: a repeat only after every earlier one (sent or skipped)
        last = max((r.repeat for r in full if r.key in done and r.kind == "breach-repeat"),
                   default=0)
        done |= {r.key for r in full if r.kind == "breach-repeat" and r.repeat < last}
        cut = plan_ticket(1, "T-1001", prio, policy, events, now, specs=specs, done=done)
        a, b = decide(full, done, now), decide(cut, done, now)
        assert [r.key for r in a.send] == [r.key for r in b.send]
        assert [(r.key, w) for r, w in a.skip] == [(r.key, w) for r, w in b.skip]
        assert a.next_at == b.next_at
        assert len(cut) <= len(full)
        checked += bool(full)
        # the cheap bound never promises later than the truth, nor nothing when there is some
        bound = earliest("T-1001", prio, policy, events, done, now, specs=specs)
        if bound == NOTHING:
            assert a.send == () and a.next_at is None
        elif isinstance(bound, datetime):
            assert a.send == () and a.skip == ()
            assert a.next_at is not None and a.next_at >= bound
            bounded += 1
    assert checked > 100 and bounded > 20, (checked, bounded)
