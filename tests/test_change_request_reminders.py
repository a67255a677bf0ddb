"""A change request is reminded on its own answer clock (``change_response``: answer within the
policy's ``change_request_response`` working days), not on the P1-P4 incident targets, and the
reminders, their words and the report agree on when the answer is due.

demo247 runs 24/7 in UTC with a ``2wd`` change-request deadline and reminders at 50%, 75% and
90% of the target, the breach, then every 5 minutes while breached.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.reminders.engine import ReminderEngine
from adapters.storage import Database, SqlUnitOfWork, UnitOfWorks
from adapters.storage.reminders import ReminderStore
from bot.alerts import Alert
from bot.change_requests import CLOCK, clock_specs
from bot.clock import ManualClock
from bot.model import Client, Event, EventKind, Staff
from bot.policies import PolicyBook
from bot.priority import Priority
from bot.reminders import ReplanListener, decide, plan_ticket
from bot.reports import Period, compute_report
from bot.services import Helpdesk
from bot.sla import load_policy

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # Thursday noon
# filed Thu 1 Jan 12:00: the close of the second working day after it is Sat 3 Jan 24:00
DUE = datetime(2026, 1, 4, 0, 0, tzinfo=UTC)
NIGHTOWL = Client(name="nightowl", policy="demo247", email_domains=("nightowl.example",))


class RecordingSink:
    name = "record"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def deliver(self, alert: Alert) -> None:
        self.alerts.append(alert)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def desk(database: Database, clock: ManualClock) -> Helpdesk:
    hd = Helpdesk(lambda: SqlUnitOfWork(database), clock, PolicyBook("demo247"),
                  [ReplanListener()])
    hd.sync_directory([NIGHTOWL], [Staff("alice", "alice@provider.example")])
    return hd


def run_until(e: ReminderEngine, clock: ManualClock, until: datetime) -> None:
    while (nxt := e.next_wakeup()) is not None and nxt <= until:
        clock.set(nxt)
        e.run_due()
    clock.set(until)
    e.run_due()


def test_a_change_request_is_reminded_on_its_answer_clock_and_its_report_agrees(
        database: Database, clock: ManualClock, desk: Helpdesk) -> None:
    view = desk.register(subject="Dark mode", client="nightowl", priority=Priority.P2,
                         kind="change_request", actor="t", reason="t")
    ref = view.reference
    assert view.clocks[CLOCK].due == DUE  # 60 hours of (24/7) working time
    sink = RecordingSink()
    e = ReminderEngine(UnitOfWorks(database), clock, PolicyBook("demo247"), [sink])
    e.rebuild(precise=True)
    # not the P2 response target (10 minutes): half of the 60 hours
    assert e.next_wakeup() == T0 + timedelta(hours=30)
    run_until(e, clock, DUE + timedelta(minutes=7))
    prefix = f"{ref}/{CLOCK}/P2-"
    assert [(a.key, a.at, a.kind) for a in sink.alerts] == [
        (f"{prefix}50%/0", T0 + timedelta(hours=30), "reminder"),
        (f"{prefix}75%/0", T0 + timedelta(hours=45), "reminder"),
        (f"{prefix}90%/0", T0 + timedelta(hours=54), "reminder"),
        (f"{prefix}breach/0", DUE, "breach"),
        (f"{prefix}breach/1", DUE + timedelta(minutes=5), "breach-repeat"),
    ]
    assert all(a.clock == CLOCK and a.due == DUE for a in sink.alerts)
    first, breach = sink.alerts[0], sink.alerts[3]
    assert ("Answer to a change request, within 2wd (change_response) is due Sun 04 Jan 2026 "
            "00:00 UTC: 30h of working time left (50% of 60h used)") in first.text
    assert "is BREACHED: it was due Sun 04 Jan 2026 00:00 UTC" in breach.text
    assert "Stops the clock: a response to the client" in breach.text
    assert not any("(response)" in a.text or "resolution" in a.text for a in sink.alerts)

    with desk._uow() as uow:
        tickets = uow.tickets.list(client="nightowl")
    report = compute_report(load_policy("demo247"), desk.client("nightowl"),
                            Period(date(2026, 1, 1), date(2026, 2, 1)), tickets, clock.now())
    (line,) = report.change_requests
    assert (line.reference, line.outcome) == (ref, "open-late")
    assert line.due == breach.due == breach.at

    # answered: the clock stops, nothing more goes out
    desk.respond(ref, actor="alice")
    e.poll()
    run_until(e, clock, DUE + timedelta(hours=2))
    assert len(sink.alerts) == 5
    assert e.scheduled() == 0


def test_an_incident_on_the_same_desk_keeps_its_incident_targets(
        database: Database, clock: ManualClock, desk: Helpdesk) -> None:
    ref = desk.register(subject="Site down", client="nightowl", priority=Priority.P2,
                        actor="t", reason="t").reference
    e = ReminderEngine(UnitOfWorks(database), clock, PolicyBook("demo247"), [RecordingSink()])
    e.rebuild(precise=True)
    assert e.next_wakeup() == T0 + timedelta(minutes=5)  # half of the P2 response target
    run_until(e, clock, T0 + timedelta(minutes=5))
    assert [r["key"] for r in ReminderStore(database).list()] == [f"{ref}/response/P2-50%/0"]


def test_the_planner_uses_the_policy_reminder_rule_for_the_answer_clock() -> None:
    """panenco: reminders at 50%, 75%, 30 minutes left and the breach, on the working time up to
    the close of the tenth working day (Mon 23 Nov 2026 09:00 Brussels -> Mon 7 Dec 18:00)."""
    bxl = ZoneInfo("Europe/Brussels")
    panenco = load_policy("panenco")
    filed = datetime(2026, 11, 23, 9, tzinfo=bxl)
    events = [Event(EventKind.REGISTERED, filed, "t", id=1)]
    specs = clock_specs(panenco, "change_request", filed)
    assert list(specs) == [CLOCK]
    planned = plan_ticket(1, "T-1001", Priority.P1, panenco, events, filed, specs=specs)
    assert [(r.threshold, r.kind) for r in planned] == [
        ("P1-50%", "reminder"), ("P1-75%", "reminder"), ("P1-30m-left", "reminder"),
        ("P1-breach", "breach"), ("P1-breach", "breach-repeat")]  # repeated every hour
    breach = planned[3]
    assert breach.reached == datetime(2026, 12, 7, 18, tzinfo=bxl)
    assert breach.key == f"T-1001/{CLOCK}/P1-breach/0"
    assert decide(planned, set(), filed).send == ()
    # an incident filed at the same instant has the P1 response clock instead
    incident = clock_specs(panenco, "incident", filed)
    assert set(incident) == set(panenco.clocks)
