"""The reminder engine on a real database (SQLite or PostgreSQL), time moved by hand: reminders
go out in order at their thresholds and once each, a restart loses and doubles nothing, a change
of priority re-plans, a met or paused clock cancels, a crash between claim and delivery is
finished by the next run, a failing sink is retried alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from adapters.reminders.engine import ReminderEngine
from adapters.reminders.sinks import LogSink, MailSink
from adapters.storage import Database, SqlUnitOfWork, UnitOfWorks
from adapters.storage.reminders import ReminderStore
from bot.alerts import Alert
from bot.clock import ManualClock
from bot.model import Client, Staff
from bot.policies import PolicyBook
from bot.priority import Priority
from bot.reminders import ReplanListener, decide, plan_ticket
from bot.services import Helpdesk
from tests.procs import cli, cli_json, storage_toml

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NIGHTOWL = Client(name="nightowl", policy="demo247", email_domains=("nightowl.example",))


class RecordingSink:
    """A sink that keeps what it was given; fails its first ``fail`` deliveries."""

    def __init__(self, name: str = "record", fail: int = 0) -> None:
        self.name = name
        self.alerts: list[Alert] = []
        self.fail = fail

    def deliver(self, alert: Alert) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("chat service unreachable")
        self.alerts.append(alert)

    def keys(self) -> list[str]:
        return [a.key for a in self.alerts]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def desk(database: Database, clock: ManualClock) -> Helpdesk:
    hd = Helpdesk(lambda: SqlUnitOfWork(database), clock, PolicyBook("demo247"),
                  [ReplanListener()])
    hd.sync_directory([NIGHTOWL], [Staff("alice", "alice@provider.example")])
    return hd


def engine(database: Database, clock: ManualClock, *sinks: Any) -> ReminderEngine:
    return ReminderEngine(UnitOfWorks(database), clock, PolicyBook("demo247"), list(sinks))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def run_until(e: ReminderEngine, clock: ManualClock, until: datetime) -> None:
    """Wake the engine at each instant it asks for, as the scheduler would, up to ``until``."""
    while (nxt := e.next_wakeup()) is not None and nxt <= until:
        clock.set(nxt)
        e.run_due()
    clock.set(until)
    e.run_due()


def states(database: Database) -> dict[str, str]:
    return {r["key"]: r["state"] for r in ReminderStore(database).list(limit=1000)}


def test_reminders_fire_in_order_at_their_thresholds_each_once(
        database: Database, clock: ManualClock, desk: Helpdesk) -> None:
    ref = desk.register(subject="Site down", client="nightowl", priority=Priority.P1,
                        actor="t", reason="t").reference
    sink = RecordingSink()
    e = engine(database, clock, sink, LogSink())
    e.rebuild()
    assert e.next_wakeup() == at(2.5)
    run_until(e, clock, at(12))
    assert [(a.key, a.at, a.kind) for a in sink.alerts] == [
        (f"{ref}/response/P1-50%/0", at(2.5), "reminder"),
        (f"{ref}/response/P1-75%/0", at(3.75), "reminder"),
        (f"{ref}/response/P1-90%/0", at(4.5), "reminder"),
        (f"{ref}/response/P1-breach/0", at(5), "breach"),
        (f"{ref}/response/P1-breach/1", at(10), "breach-repeat"),
    ]
    assert not any(a.late for a in sink.alerts)
    assert all(a.targets == ("triage", "assignee", "oncall") for a in sink.alerts)
    e.run_due()
    e.rebuild()  # planning again, as after a restart, sends nothing twice
    assert len(sink.alerts) == 5
    assert set(states(database).values()) == {"sent"}


def test_a_restart_loses_nothing_doubles_nothing_and_sends_the_missed_one_late(
        database: Database, clock: ManualClock, desk: Helpdesk) -> None:
    ref = desk.register(subject="A question", client="nightowl", priority=Priority.P4,
                        actor="t", reason="t").reference  # 1h: 30m, 45m, 54m, 60m
    before = RecordingSink()
    first = engine(database, clock, before)
    first.rebuild()
    run_until(first, clock, at(31))
    assert before.keys() == [f"{ref}/response/P4-50%/0"]
    # the process dies; it comes back at 50 minutes, having missed the 75% one at 45
    clock.set(at(50))
    after = RecordingSink()
    second = engine(database, clock, after)
    second.rebuild()
    assert [(a.key, a.late) for a in after.alerts] == [(f"{ref}/response/P4-75%/0", True)]
    assert "Late: this was meant to go out Thu 01 Jan 2026 12:45 UTC" in after.alerts[0].text
    run_until(second, clock, at(61))
    assert after.keys()[1:] == [f"{ref}/response/P4-90%/0", f"{ref}/response/P4-breach/0"]
    assert not any(a.late for a in after.alerts[1:])
    assert before.keys() + after.keys() == list(dict.fromkeys(before.keys() + after.keys()))


def test_breach_repeats_missed_in_one_outage_are_recorded_as_superseded(
        database: Database, clock: ManualClock, desk: Helpdesk) -> None:
    """Issue 17 item 22: only the latest missed repeat goes out, like thresholds, and the
    earlier ones are recorded as skipped (superseded by it), so none is lost without trace."""
    ref = desk.register(subject="Site down", client="nightowl", priority=Priority.P1,
                        actor="t", reason="t").reference  # 5m target, repeats every 5m
    sink = RecordingSink()
    first = engine(database, clock, sink)
    first.rebuild()
    run_until(first, clock, at(6))
    assert sink.keys()[-1] == f"{ref}/response/P1-breach/0"
    clock.set(at(27))  # down from 6 to 27 minutes: repeats 1-4 (10, 15, 20, 25) were missed
    after = RecordingSink()
    e = engine(database, clock, after)
    e.rebuild()
    assert [(a.key, a.late) for a in after.alerts] == [(f"{ref}/response/P1-breach/4", True)]
    rows = {r["key"]: (r["state"], r["reason"]) for r in ReminderStore(database).list()}
    latest = f"superseded by {ref}/response/P1-breach/4"
    assert [(k, rows[k]) for k in (f"{ref}/response/P1-breach/{n}" for n in (1, 2, 3))] == [
        (f"{ref}/response/P1-breach/{n}", ("skipped", latest)) for n in (1, 2, 3)]
    run_until(e, clock, at(31))  # then on time again: repeat 5, and nothing more skipped
    assert after.keys() == [f"{ref}/response/P1-breach/4", f"{ref}/response/P1-breach/5"]
    assert sum(state == "skipped" for state in states(database).values()) == 3


def test_two_engines_on_one_database_never_send_a_key_twice(
        database: Database, clock: ManualClock, desk: Helpdesk) -> None:
    desk.register(subject="Site down", client="nightowl", priority=Priority.P1, actor="t",
                  reason="t")
    a, b = RecordingSink("a"), RecordingSink("b")
    ea, eb = engine(database, clock, a), engine(database, clock, b)
    ea.rebuild()
    eb.rebuild()
    for minute in (2.5, 3.75, 4.5, 5):
        clock.set(at(minute))
        eb.run_due()
        ea.run_due()
    assert len(a.alerts) + len(b.alerts) == 4
    assert sorted(a.keys() + b.keys()) == sorted(set(a.keys() + b.keys()))


def test_a_priority_change_replans_and_a_met_clock_cancels(
        database: Database, clock: ManualClock, desk: Helpdesk) -> None:
    ref = desk.register(subject="Reports slow", client="nightowl", priority=Priority.P4,
                        actor="t", reason="t").reference
    sink = RecordingSink()
    e = engine(database, clock, sink)
    e.rebuild()
    assert e.next_wakeup() == at(30)
    clock.set(at(1))
    desk.set_priority(ref, Priority.P1, actor="alice", reason="all users affected")
    e.poll()  # the request left by the change, taken as the scheduler does every poll
    assert e.next_wakeup() == at(2.5)
    run_until(e, clock, at(3))
    assert sink.keys() == [f"{ref}/response/P1-50%/0"]
    desk.respond(ref, actor="alice")
    e.poll()
    assert e.next_wakeup() is None  # the response clock is met; resolution has not started
    run_until(e, clock, at(60))
    assert sink.keys() == [f"{ref}/response/P1-50%/0"]
    # the cause is confirmed: the resolution clock (30m for P1) starts and is planned
    desk.confirm_cause(ref, actor="alice")
    e.poll()
    assert e.next_wakeup() == at(75)


def test_a_paused_clock_has_no_reminders_until_it_resumes(
        database: Database, clock: ManualClock, desk: Helpdesk) -> None:
    ref = desk.register(subject="Site down", client="nightowl", priority=Priority.P1,
                        actor="t", reason="t").reference
    sink = RecordingSink()
    e = engine(database, clock, sink)
    e.rebuild()
    clock.set(at(1))
    desk.pause(ref, actor="alice", reason="waiting for the client's logs")
    e.poll()
    assert e.next_wakeup() is None
    clock.set(at(11))
    desk.resume(ref, actor="alice")
    e.poll()
    assert e.next_wakeup() == at(12.5)  # 1 of 5 minutes was used before the pause
    run_until(e, clock, at(12.5))
    assert [a.key for a in sink.alerts] == [f"{ref}/response/P1-50%/0"]


def test_a_claim_left_by_a_crash_is_delivered_once_or_skipped_if_it_no_longer_applies(
        database: Database, clock: ManualClock, desk: Helpdesk) -> None:
    desk_refs = [desk.register(subject=s, client="nightowl", priority=Priority.P1, actor="t",
                               reason="t") for s in ("Site down", "Login broken")]
    clock.set(at(2.5))
    store = ReminderStore(database)
    due = [decide(plan_ticket(v.ticket.id or 0, v.reference, Priority.P1, v.policy,
                              v.ticket.events, clock.now(), specs=v.policy.clocks), set(),
                    clock.now()).send[0]
           for v in desk_refs]
    claimed = [r.key for r in due]
    assert store.claim(due, clock.now()) == set(claimed)  # then the process died
    assert store.claim(due, clock.now()) == set()  # recorded: nobody claims them again
    clock.set(at(3))
    desk.respond(desk_refs[1].reference, actor="alice")  # the second one no longer applies
    sink = RecordingSink()
    e = engine(database, clock, sink)
    assert e.resume() == 2
    [alert] = sink.alerts
    assert alert.key == claimed[0] and alert.late and alert.data["redelivery"] is True
    got = {r["key"]: r for r in store.list()}
    assert got[claimed[0]]["state"] == "sent"
    assert got[claimed[1]]["state"] == "skipped"
    assert got[claimed[1]]["reason"] == "no longer applies: the response clock is met"
    e.rebuild()
    assert e.resume() == 0 and len(sink.alerts) == 1


def test_a_failing_sink_is_retried_alone_and_gives_up_in_the_end(
        database: Database, clock: ManualClock, desk: Helpdesk) -> None:
    ref = desk.register(subject="Site down", client="nightowl", priority=Priority.P1,
                        actor="t", reason="t").reference
    ok, flaky = RecordingSink("ok"), RecordingSink("chat", fail=1)
    e = engine(database, clock, ok, flaky)
    e.rebuild()
    run_until(e, clock, at(2.5))
    key = f"{ref}/response/P1-50%/0"
    [row] = [r for r in ReminderStore(database).list() if r["key"] == key]
    assert (row["state"], row["sinks_done"], row["attempts"]) == ("claimed", ["ok"], 1)
    assert "chat: ConnectionError: chat service unreachable" in row["last_error"]
    clock.set(at(2.5) + timedelta(seconds=30))
    e.poll()
    assert ok.keys() == [key] and flaky.keys() == [key]
    assert states(database)[key] == "sent"
    # a sink that never works: four retries, then the reminder is recorded as failed
    dead = RecordingSink("dead", fail=100)
    e2 = engine(database, clock, dead)
    e2.rebuild()
    clock.set(at(3.75))
    e2.run_due()
    for wait in (30, 120, 600, 1800):
        clock.advance(timedelta(seconds=wait))
        e2.poll(check_policies=False)
    assert states(database)[f"{ref}/response/P1-75%/0"] == "failed"


def test_mail_sink_queues_one_mail_per_reminder(database: Database, clock: ManualClock,
                                                desk: Helpdesk) -> None:
    ref = desk.register(subject="Site down", client="nightowl", priority=Priority.P1,
                        actor="t", reason="t").reference
    desk.assign(ref, "alice", actor="t")
    mail = MailSink(lambda: SqlUnitOfWork(database), clock, "support@provider.example",
                    ["triage@provider.example"], mail_assignee=True)
    e = engine(database, clock, mail)
    e.rebuild()
    run_until(e, clock, at(2.5))
    clock.set(at(2.6))
    e.rebuild()  # a restart plans again: nothing is queued twice
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT purpose, recipients, subject FROM outbox")).all()
    assert len(rows) == 1
    purpose, recipients, subject = rows[0]
    if isinstance(recipients, str):  # SQLite hands JSON back as text through plain SQL
        recipients = json.loads(recipients)
    assert purpose == "alert"
    assert sorted(recipients) == ["alice@provider.example", "triage@provider.example"]
    assert subject == f"[{ref}] Due soon: response (P1) Site down"


def test_the_cli_lists_what_was_recorded(database: Database, clock: ManualClock, desk: Helpdesk,
                                         tmp_path: Path) -> None:
    ref = desk.register(subject="Site down", client="nightowl", priority=Priority.P1,
                        actor="t", reason="t").reference
    e = engine(database, clock, RecordingSink())
    e.rebuild()
    clock.set(at(4))  # 50% and 75% passed together: 75% goes out, 50% is superseded
    e.run_due()
    config = tmp_path / "supportbot.toml"
    config.write_text(storage_toml(database), encoding="utf-8")
    listed = cli_json(config, "reminders", "list", "--ticket", ref)
    assert [(r["key"], r["state"], r["reason"]) for r in listed] == [
        (f"{ref}/response/P1-75%/0", "sent", ""),
        (f"{ref}/response/P1-50%/0", "skipped", f"superseded by {ref}/response/P1-75%/0"),
    ]
    assert listed[0]["due_at"] == at(3.75).isoformat() and listed[0]["sinks"] == ["record"]
    assert "Site down" in listed[0]["text"]
    text = cli(config, "reminders", "list").stdout
    assert f"{ref}/response/P1-75%/0" in text and "superseded" in text
    # recorded times in the policy's zone (demo247: UTC), to the minute: 12:03:45 reads 12:04
    assert f"Thu 01 Jan 2026 12:04 UTC  {ref}/response/P1-75%/0" in text, text


async def test_a_burst_due_at_one_instant_all_goes_out_through_the_scheduler(
        database: Database, tmp_path: Path) -> None:
    """Regression: the wake-up job re-added from inside its own run was skipped by APScheduler
    (max instances) and the loop never woke again."""
    import asyncio

    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from adapters.reminders.leader import leadership_for
    from adapters.reminders.loop import ReminderLoop
    from adapters.system_clock import SystemClock
    from tests.test_reminder_run import FAST

    (tmp_path / "fast247.toml").write_text(FAST, encoding="utf-8")
    policies = PolicyBook("fast247", (tmp_path,))
    real = SystemClock()
    hd = Helpdesk(lambda: SqlUnitOfWork(database), real, policies, [ReplanListener()])
    hd.sync_directory([Client(name="burst", policy="fast247")])
    sink = RecordingSink()
    e = ReminderEngine(UnitOfWorks(database), real, policies, [sink])
    sched = AsyncIOScheduler(timezone="UTC")
    loop = ReminderLoop(e, leadership_for(database), sched, poll_seconds=0.1)
    loop.start()
    sched.start()
    while not loop.planned.is_set():
        await asyncio.sleep(0.02)
    for i in range(20):  # P1 12s target: the first reminder 3s after registration
        await asyncio.to_thread(hd.register, subject=f"down {i}", client="burst",
                                priority=Priority.P1, actor="t", reason="t")
    for _ in range(300):
        if len(sink.alerts) >= 20:
            break
        await asyncio.sleep(0.05)
    sched.shutdown(wait=False)
    loop.stop()
    got = sink.keys()
    assert len(got) >= 20, got  # every ticket's 25% reminder, within a few ms of each other
    assert len(set(got)) == len(got)
