"""The next-response clock: a repeating clock that starts at each client message waiting on the
provider and stops at the provider's next reply; each run (a cycle) has the whole target,
reminders of its own and its own line in the report.

Fixture policy tests/policies/next_response.toml: Brussels office hours Mon-Fri 09:00-18:00,
no holidays; next response P2 2h, P3 4h. Instants are counted by hand in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.change_requests import ticket_clocks
from bot.clocks import ClockStatus, cycle_states
from bot.errors import PolicyError
from bot.model import Client, EventKind
from bot.priority import Priority
from bot.reminders.plan import plan_ticket
from bot.reports import compute_report, render
from bot.reports.periods import Period
from bot.sla.loader import load_policy, parse_policy
from bot.ticket import Ticket
from tests.tickets import new_ticket

POLICY_FILE = Path(__file__).parent / "policies" / "next_response.toml"
POLICY = load_policy(POLICY_FILE)
CLIENT = Client(name="acme", policy="next_response", id=1)


def cet(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of November 2026 given in Brussels time (CET, UTC+1)."""
    return datetime(2026, 11, day, hour - 1, minute, tzinfo=UTC)


def msg(t: Ticket, at: datetime, text: str = "more", **data: object) -> None:
    t.receive_message(actor="jo@acme.example", now=at, data={"text": text, **data})


def saved(t: Ticket, first_id: int) -> Ticket:
    from bot.model import Event

    t.mark_saved([Event(e.kind, e.at, e.actor, dict(e.data), t.id, first_id + i)
                  for i, e in enumerate(t.pending)])
    return t


def conversation() -> Ticket:
    """P3, Mon 23 Nov: registered 09:00, answered 09:30; the client writes at 10:00 and 11:00,
    answered at 13:00 (cycle 1, 3h: met); writes again at 16:00 (cycle 2: due after 4 working
    hours, Mon 16-18 and Tue 09-11, so Tue 11:00) and edits a message at 16:30."""
    t = new_ticket(at=cet(23, 9), policy="next_response", priority=Priority.P3)
    t.id = 41
    t.respond(actor="alice", now=cet(23, 9, 30))
    msg(t, cet(23, 10))
    msg(t, cet(23, 11))
    t.respond(actor="alice", now=cet(23, 13), message="Try again now")
    msg(t, cet(23, 16))
    msg(t, cet(23, 16, 30), edited=True)
    return t


def test_the_policy_says_which_clock_repeats_and_refuses_what_makes_no_sense() -> None:
    assert POLICY.clocks["next_response"].repeats
    assert not POLICY.clocks["response"].repeats
    text = POLICY_FILE.read_text()
    with pytest.raises(PolicyError, match=r"bad\.toml.*clocks\.next_response.*reopen"):
        parse_policy(text.replace("repeats = true", 'repeats = true\nreopen = ["reopened"]')
                     .encode(), "bad.toml")
    credit = '\n[[credits]]\nclock = "next_response"\npriorities = ["P1"]\n' \
             'share_of_invoice = 0.1\n'
    with pytest.raises(PolicyError, match=r"credits\[0\]\.clock.*repeats"):
        parse_policy((text + credit).encode(), "bad.toml")


def test_each_client_message_after_a_reply_starts_a_cycle_with_the_whole_target() -> None:
    t = conversation()
    now = cet(24, 12)  # Tue 12:00
    c = ticket_clocks(POLICY, t, now)["next_response"]
    assert (c.cycle, c.status, c.running) == (2, ClockStatus.BREACHED, True)
    assert c.started_at == cet(23, 16) and c.due == cet(24, 11)
    assert c.used == timedelta(hours=5)  # Mon 16-18, Tue 09-12
    first, second = cycle_states(POLICY.clocks["next_response"], POLICY, Priority.P3,
                                 t.events, now)
    assert (first.cycle, first.status, first.used) == (1, ClockStatus.MET, timedelta(hours=3))
    assert (first.started_at, first.stopped_at) == (cet(23, 10), cet(23, 13))  # not 11:00
    assert second == c
    # the first response clock is not disturbed by the follow-ups
    assert ticket_clocks(POLICY, t, now)["response"].status == ClockStatus.MET


def test_messages_to_a_resolved_ticket_start_nothing_until_it_reopens() -> None:
    t = conversation()
    t.respond(actor="alice", now=cet(23, 17), message="Fixed")
    t.resolve(actor="alice", now=cet(23, 17, 5))
    msg(t, cet(24, 9), "thanks")  # late reply, not reopened
    assert ticket_clocks(POLICY, t, cet(24, 10))["next_response"].status == ClockStatus.MET
    t.reopen(actor="alice", reason="it broke again", now=cet(24, 10))
    c = ticket_clocks(POLICY, t, cet(24, 11))["next_response"]
    assert (c.cycle, c.status, c.started_at) == (3, ClockStatus.RUNNING, cet(24, 10))
    msg(t, cet(24, 11, 30), "ok", pleasantry=True)
    t.respond(actor="alice", now=cet(24, 12))
    msg(t, cet(24, 13), "thanks!", pleasantry=True)  # says nothing new: no cycle
    assert ticket_clocks(POLICY, t, cet(24, 14))["next_response"].cycle == 3


def test_each_cycle_has_reminders_of_its_own() -> None:
    t = saved(conversation(), 1)
    # at Mon 17:00, cycle 2 (from 16:00) is running: 50% of 4h is 2 working hours in, Mon
    # 18:00, which is the close: it goes out at the next opening (P3: not outside hours)
    planned = plan_ticket(41, "T-41", Priority.P3, POLICY, t.events, cet(23, 17),
                          specs=POLICY.clocks)
    mine = [r for r in planned if r.clock == "next_response"]
    assert [r.key for r in mine] == ["T-41/next_response#2/P3-50%/0",
                                     "T-41/next_response#2/P3-breach/0"]
    assert mine[0].reached == cet(23, 18) and mine[0].due_at == cet(24, 9)
    assert mine[1].reached == cet(24, 11)
    # during cycle 1 the same thresholds had other keys, so none of those counts as sent
    during_first = plan_ticket(41, "T-41", Priority.P3, POLICY, t.events, cet(23, 10, 30),
                               specs=POLICY.clocks)
    assert {r.key for r in during_first if r.clock == "next_response"} == {
        "T-41/next_response#1/P3-50%/0", "T-41/next_response#1/P3-breach/0"}


def test_the_report_counts_cycles_with_figures_computed_here() -> None:
    a = conversation()  # P3: cycle 1 met (3h of 4h), cycle 2 breached at Tue 11:00
    b = new_ticket(at=cet(25, 9), policy="next_response", priority=Priority.P2)
    b.id = 42
    b.respond(actor="bob", now=cet(25, 9, 15))
    msg(b, cet(25, 10))
    b.respond(actor="bob", now=cet(25, 11, 30))  # 1h30m of 2h: met
    msg(b, cet(25, 17))
    b.respond(actor="bob", now=cet(26, 11))  # Wed 17-18 + Thu 09-11 = 3h of 2h: breached
    for t in (a, b):
        t.client_id = 1
    now = cet(30, 12)
    r = compute_report(POLICY, CLIENT, Period(date(2026, 11, 1), date(2026, 12, 1)), [a, b], now)
    assert r.clock_names == ("response",) and r.repeating == ("next_response",)
    by_priority = {p.priority: p.clocks["next_response"] for p in r.priorities}
    assert (by_priority[Priority.P3].met, by_priority[Priority.P3].total) == (1, 2)
    assert (by_priority[Priority.P2].met, by_priority[Priority.P2].total) == (1, 2)
    assert by_priority[Priority.P2].share == 0.5 and by_priority[Priority.P2].target == 0.8
    assert by_priority[Priority.P2].meets_target is False
    breaches = [(x.reference, x.clock, x.due, x.stopped_at, x.late) for x in r.breaches
                if x.clock == "next_response"]
    # a: due Tue 11:00, still open at the report's instant Mon 30 12:00: late from Tue 11
    # to Mon 30 12:00 = Tue 7h + Wed, Thu, Fri 27h + Mon 3h = 37h
    # b: due Thu 26 10:00 (Wed 17-18, Thu 09-10), answered 11:00: 1h late
    assert breaches == [(a.reference, "next_response", cet(24, 11), None, timedelta(hours=37)),
                        (b.reference, "next_response", cet(26, 10), cet(26, 11),
                         timedelta(hours=1))]
    md = render(r, "md")
    assert "next_response met" in md and "| P2 | 1 | 0.00 | 1/1 | 100.0% |" in md
    assert "1/2 | 50.0% | 80.0% (NOT met)" in md
    assert f"- {b.reference} P2 next_response: due 2026-11-26 10:00, stopped 2026-11-26 11:00" in md
    doc = render(r, "json")
    assert '"cycle": 2' in doc and '"outcome": "breached"' in doc
    assert "next_response" in render(r, "html")
    assert EventKind.MESSAGE_RECEIVED in POLICY.clocks["next_response"].start
