"""Waiting for the client: the policy's ``[waiting]``, the state on the ticket aggregate, the
clocks it pauses, and when the client is nudged and the ticket resolves by itself.

The fixture policy (tests/policies/waiting.toml) has Brussels office hours (Mon-Fri
09:00-18:00, no holidays) and ``after = "2wd"``: the instants below are counted by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.storage import Database, SqlUnitOfWork
from bot.change_requests import ticket_clocks
from bot.clock import ManualClock
from bot.clocks import ClockStatus
from bot.errors import InvalidAction, PolicyError
from bot.model import Client, EventKind, TicketStatus
from bot.policies import PolicyBook
from bot.priority import Priority
from bot.services import Helpdesk
from bot.sla.loader import load_policy, parse_policy
from bot.waiting import NUDGE, RESOLVE, due_step, wait_plan
from tests.tickets import new_ticket

POLICIES = Path(__file__).parent / "policies"
WAITING = POLICIES / "waiting.toml"
MON_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Mon 23 Nov 2026 10:00 Brussels (CET)


def policy_text(waiting: str) -> bytes:
    base = WAITING.read_text().split("[waiting]")[0]
    return (base + waiting).encode()


# -- the policy format ----------------------------------------------------------------------

def test_without_a_waiting_table_waiting_pauses_the_resolution_clock_and_nothing_is_timed() -> None:
    p = parse_policy(policy_text(""), "no-waiting.toml")
    assert p.waiting.pauses == ("resolution",)
    assert (p.waiting.after, p.waiting.nudge, p.waiting.resolve) == (None, False, False)
    assert EventKind.WAITING_FOR_CLIENT in p.clocks["resolution"].pause
    assert EventKind.WAITING_ENDED in p.clocks["resolution"].resume
    assert EventKind.WAITING_FOR_CLIENT not in p.clocks["response"].pause


def test_the_waiting_table_names_the_clocks_and_the_steps() -> None:
    p = parse_policy(policy_text('[waiting]\npauses = ["response", "resolution"]\n'
                                 'after = "16h"\nnudge = false\n'), "both.toml")
    assert p.waiting.pauses == ("response", "resolution")
    assert (p.waiting.after, p.waiting.nudge, p.waiting.resolve) == (timedelta(hours=16),
                                                                     False, True)
    assert all(EventKind.WAITING_FOR_CLIENT in c.pause for c in p.clocks.values())


def test_a_waiting_mistake_names_the_key_and_the_file() -> None:
    with pytest.raises(PolicyError, match=r"bad\.toml.*waiting\.pauses.*'resolve'.*response"):
        parse_policy(policy_text('[waiting]\npauses = ["resolve"]\n'), "bad.toml")
    with pytest.raises(PolicyError, match=r"bad\.toml.*waiting\.after"):
        parse_policy(policy_text('[waiting]\nafter = "soon"\n'), "bad.toml")
    with pytest.raises(PolicyError, match=r"waiting\.nudge_at"):
        parse_policy(policy_text('[waiting]\nnudge_at = 0.5\n'), "bad.toml")


def test_the_built_in_contracts_pause_nothing_while_waiting() -> None:
    for name in ("panenco", "spinpanel"):
        p = load_policy(name)
        assert p.waiting.pauses == () and p.waiting.after is None
        assert all(EventKind.WAITING_FOR_CLIENT not in c.pause for c in p.clocks.values())


# -- the aggregate --------------------------------------------------------------------------

def test_waiting_is_entered_by_staff_and_left_by_the_clients_answer() -> None:
    t = new_ticket(at=MON_10, policy="waiting")
    t.respond(actor="alice", now=MON_10, message="Which browser?")
    t.wait_for_client(actor="alice", now=MON_10, reason="asked for the browser")
    assert t.status == TicketStatus.PAUSED and t.waiting_since is not None
    assert t.waiting_since.data["reason"] == "asked for the browser"
    with pytest.raises(InvalidAction, match="already waiting"):
        t.wait_for_client(actor="alice", now=MON_10)
    with pytest.raises(InvalidAction, match="only new or open"):
        t.pause(actor="alice", reason="x", now=MON_10)
    later = MON_10 + timedelta(hours=1)
    assert t.client_answered(actor="jo@acme.example", now=later, channel="email")
    assert t.status == TicketStatus.OPEN and t.waiting_since is None
    assert t.events[-1].kind == EventKind.WAITING_ENDED
    assert t.events[-1].data == {"by": "client", "channel": "email"}
    assert not t.client_answered(actor="jo@acme.example", now=later, channel="email")


def test_a_plain_pause_is_not_ended_by_the_client_and_staff_end_a_wait_with_resume() -> None:
    t = new_ticket(at=MON_10, policy="waiting")
    t.pause(actor="alice", reason="vendor fix", now=MON_10)
    assert t.waiting_since is None
    assert not t.client_answered(actor="jo", now=MON_10, channel="slack")
    with pytest.raises(InvalidAction, match="only new or open"):
        t.wait_for_client(actor="alice", now=MON_10)
    t.resume(actor="alice", now=MON_10)
    assert t.status == TicketStatus.NEW  # never answered
    t.wait_for_client(actor="alice", now=MON_10)
    t.resume(actor="alice", now=MON_10, note="found it ourselves")
    assert t.events[-1].kind == EventKind.WAITING_ENDED
    assert t.events[-1].data == {"by": "staff", "note": "found it ourselves"}


def test_nudge_once_per_wait_and_resolve_unanswered() -> None:
    t = new_ticket(at=MON_10, policy="waiting")
    with pytest.raises(InvalidAction, match="not waiting"):
        t.nudge_client(now=MON_10, resolves_at=None)
    t.wait_for_client(actor="alice", now=MON_10)
    assert not t.nudged
    t.nudge_client(now=MON_10, resolves_at=MON_10 + timedelta(days=2))
    assert t.nudged
    with pytest.raises(InvalidAction, match="nudged already"):
        t.nudge_client(now=MON_10, resolves_at=None)
    t.client_answered(actor="jo", now=MON_10, channel="phone")
    t.wait_for_client(actor="alice", now=MON_10)
    assert not t.nudged  # a new wait, a new nudge
    t.resolve_unanswered(now=MON_10, waited="2wd")
    assert t.status == TicketStatus.RESOLVED and t.waiting_since is None
    kinds = [e.kind for e in t.events[-2:]]
    assert kinds == [EventKind.RESPONDED, EventKind.RESOLVED]  # never answered before
    assert t.events[-1].data["unanswered"] is True
    assert t.events[-1].data["note"] == "no answer from the client within 2wd"


# -- clocks and the wait's instants ---------------------------------------------------------

def test_the_resolution_clock_does_not_count_while_waiting() -> None:
    policy = load_policy(WAITING)
    t = new_ticket(at=MON_10, policy="waiting", priority=Priority.P3)
    t.wait_for_client(actor="alice", now=MON_10 + timedelta(hours=1))  # Mon 11:00
    t.client_answered(actor="jo", now=MON_10 + timedelta(days=1), channel="email")  # Tue 10:00
    now = MON_10 + timedelta(days=1, hours=2)  # Tue 12:00
    clocks = ticket_clocks(policy, t, now)
    res, resp = clocks["resolution"], clocks["response"]
    # resolution: Mon 10-11 (1h) + Tue 10-12 (2h); the response clock ran all along:
    # Mon 10-18 (8h) + Tue 09-12 (3h) of its 6h target
    assert res.used == timedelta(hours=3) and res.status == ClockStatus.RUNNING
    # 37h left: Tue 12-18 (6h), Wed, Thu, Fri (27h), then 4h on Monday: Mon 30 Nov 13:00 CET
    assert res.due == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert resp.used == timedelta(hours=11) and resp.status == ClockStatus.BREACHED
    waiting = ticket_clocks(policy, t, MON_10 + timedelta(hours=5))  # Mon 15:00, waiting
    assert waiting["resolution"].status == ClockStatus.PAUSED
    assert waiting["resolution"].used == timedelta(hours=1)


def test_the_nudge_is_at_half_of_the_working_time_and_the_resolution_at_its_end() -> None:
    policy = load_policy(WAITING)
    plan = wait_plan(policy, MON_10)
    # 2wd from Monday: the close of Wednesday, 18:00 CET; working time Mon 10:00 -> Wed 18:00
    # is 8h + 9h + 9h = 26h; half of it, 13h, is Mon 18:00 + 5h = Tue 14:00 CET
    assert plan.resolve_at == datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    assert plan.nudge_at == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    t = new_ticket(at=MON_10, policy="waiting")
    t.wait_for_client(actor="alice", now=MON_10)
    assert due_step(policy, t, plan.nudge_at - timedelta(seconds=1)) is None
    assert due_step(policy, t, plan.nudge_at) == NUDGE
    t.nudge_client(now=plan.nudge_at, resolves_at=plan.resolve_at)
    assert due_step(policy, t, plan.resolve_at - timedelta(seconds=1)) is None
    assert due_step(policy, t, plan.resolve_at) == RESOLVE


def test_without_nudge_or_resolve_nothing_is_due() -> None:
    quiet = parse_policy(policy_text('[waiting]\nafter = "2wd"\nnudge = false\n'
                                     'resolve = false\n'), "quiet.toml")
    t = new_ticket(at=MON_10, policy="waiting")
    t.wait_for_client(actor="alice", now=MON_10)
    assert due_step(quiet, t, MON_10 + timedelta(days=30)) is None
    only_nudge = parse_policy(policy_text('[waiting]\nafter = "2wd"\nresolve = false\n'),
                              "nudge.toml")
    assert due_step(only_nudge, t, MON_10 + timedelta(days=30)) == NUDGE
    # a sweep that comes after the end of the wait resolves without nudging first
    assert due_step(load_policy(WAITING), t, MON_10 + timedelta(days=30)) == RESOLVE


# -- the service, on storage ----------------------------------------------------------------

@pytest.fixture
def desk(database: Database) -> tuple[Helpdesk, ManualClock]:
    clock = ManualClock(MON_10)
    hd = Helpdesk(lambda: SqlUnitOfWork(database), clock, PolicyBook("waiting", (POLICIES,)))
    hd.sync_directory([Client(name="acme", policy="waiting", email_domains=("acme.example",))])
    return hd, clock


def test_tend_waiting_nudges_once_then_resolves_and_a_second_run_does_nothing(
        desk: tuple[Helpdesk, ManualClock]) -> None:
    hd, clock = desk
    ref = hd.register(subject="Export broken", body="CSV fails", client="acme").reference
    hd.respond(ref, actor="alice", message="Which file?", as_question=True)
    other = hd.register(subject="Slow page", client="acme").reference
    hd.wait_for_client(other, actor="alice", reason="asked for a HAR file")
    assert hd.tend_waiting() == []
    clock.set(datetime(2026, 11, 24, 13, 0, tzinfo=UTC))  # Tue 14:00: half-time
    assert sorted(hd.tend_waiting()) == sorted([(ref, NUDGE), (other, NUDGE)])
    assert hd.tend_waiting() == []
    hd.resume(other, actor="alice")  # staff stop waiting: never resolved by itself
    clock.set(datetime(2026, 11, 25, 17, 0, tzinfo=UTC))  # Wed 18:00: the end
    assert hd.tend_waiting() == [(ref, RESOLVE)]
    assert hd.tend_waiting() == []
    t = hd.show(ref).ticket
    assert t.status == TicketStatus.RESOLVED
    assert [e.kind for e in t.events].count(EventKind.CLIENT_NUDGED) == 1
    assert hd.show(other).ticket.status == TicketStatus.NEW
