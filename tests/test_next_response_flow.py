"""The next-response clock end to end by mail: the client's follow-up in the ticket's thread
starts it, the staff reply (sent by mail through the outbox) stops it, and the next follow-up
starts a new cycle with the whole target. Policy: tests/policies/next_response.toml."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.reminders.engine import ReminderEngine
from adapters.storage import Database
from bot.alerts import Alert
from bot.clocks import ClockStatus
from bot.priority import Priority
from tests.mailbot import Bot, mail, reply_to
from tests.mailpeers import LoopThread
from tests.policy_bot import MON_09, policy_bot


@pytest.fixture
def nbot(database: Database, loop: LoopThread) -> Iterator[Bot]:
    with policy_bot(database, loop, "next_response") as bot:
        yield bot


def test_follow_up_mails_start_cycles_and_staff_replies_stop_them(nbot: Bot) -> None:
    hd = nbot.app.helpdesk
    outcome, [_ack] = nbot.roundtrip(mail("jo@acme.example", "Export broken",
                                         "The CSV export fails for my account."))
    ref = outcome.reference or ""
    assert hd.show(ref).clocks["next_response"].status == ClockStatus.NOT_STARTED
    nbot.clock.set(MON_09 + timedelta(minutes=20))
    hd.respond(ref, actor="alice", message="Looking into it.")
    [reply] = nbot.deliver()
    nbot.clock.set(MON_09 + timedelta(hours=1))  # Mon 10:00: the client writes again
    o, _ = nbot.roundtrip(reply_to(reply, "jo@acme.example", "Also the PDF export."))
    assert o.action == "follow-up"
    view = hd.show(ref)
    c = view.clocks["next_response"]
    target = view.policy.target(view.ticket.priority, "next_response")
    assert (c.cycle, c.status, c.started_at) == (1, ClockStatus.RUNNING,
                                                 MON_09 + timedelta(hours=1))
    assert c.due == view.policy.calendar.add(MON_09 + timedelta(hours=1), target)
    nbot.clock.set(MON_09 + timedelta(hours=1, minutes=30))
    hd.respond(ref, actor="alice", message="Both fixed.")
    [answer] = nbot.deliver()
    assert "Both fixed." in answer.get_content()
    c = hd.show(ref).clocks["next_response"]
    assert (c.status, c.used) == (ClockStatus.MET, timedelta(minutes=30))
    nbot.clock.set(datetime(2026, 11, 23, 16, 0, tzinfo=UTC))  # Mon 17:00
    nbot.roundtrip(reply_to(answer, "jo@acme.example", "The PDF is still empty."))
    c = hd.show(ref).clocks["next_response"]
    assert (c.cycle, c.status, c.used) == (2, ClockStatus.RUNNING, timedelta(0))
    assert c.target == target


class RecordingSink:
    name = "record"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def deliver(self, alert: Alert) -> None:
        self.alerts.append(alert)


def test_the_reminder_engine_reminds_each_cycle_once(nbot: Bot) -> None:
    hd = nbot.app.helpdesk
    sink = RecordingSink()
    engine = ReminderEngine(nbot.app.uow, nbot.clock, hd.policies, [sink])
    engine.rebuild()

    def run_until(until: datetime) -> None:
        engine.poll(check_policies=False)
        while (nxt := engine.next_wakeup()) is not None and nxt <= until:
            nbot.clock.set(max(nxt, nbot.clock.now()))
            engine.run_due()
        nbot.clock.set(until)
        engine.run_due()

    outcome, _ = nbot.roundtrip(mail("jo@acme.example", "Export broken", "It fails."))
    ref = outcome.reference or ""
    if hd.show(ref).ticket.priority != Priority.P2:
        hd.set_priority(ref, Priority.P2, actor="alice", reason="one user")
    nbot.clock.set(MON_09 + timedelta(minutes=10))
    hd.respond(ref, actor="alice", message="Looking into it.")
    [_ack, reply] = nbot.deliver()
    nbot.clock.set(MON_09 + timedelta(hours=1))  # Mon 10:00: cycle 1, P2 2h: due 12:00
    nbot.roundtrip(reply_to(reply, "jo@acme.example", "Any news?"))
    run_until(datetime(2026, 11, 23, 11, 30, tzinfo=UTC))  # Mon 12:30
    mine = [a for a in sink.alerts if a.clock == "next_response"]
    assert [(a.key, a.at) for a in mine] == [
        (f"{ref}/next_response#1/P2-50%/0", MON_09 + timedelta(hours=2)),  # Mon 11:00
        (f"{ref}/next_response#1/P2-breach/0", MON_09 + timedelta(hours=3))]
    assert "BREACHED" in mine[1].text
    hd.respond(ref, actor="alice", message="Fixed now.")
    [answer] = nbot.deliver()
    nbot.clock.set(datetime(2026, 11, 23, 13, 0, tzinfo=UTC))  # Mon 14:00: cycle 2
    nbot.roundtrip(reply_to(answer, "jo@acme.example", "Still broken for me."))
    run_until(datetime(2026, 11, 23, 14, 30, tzinfo=UTC))  # Mon 15:30
    mine = [a.key for a in sink.alerts if a.clock == "next_response"]
    assert mine[2:] == [f"{ref}/next_response#2/P2-50%/0"]
    run_until(datetime(2026, 11, 23, 16, 0, tzinfo=UTC))
    assert [a.key for a in sink.alerts if a.clock == "next_response"][2:] == [
        f"{ref}/next_response#2/P2-50%/0", f"{ref}/next_response#2/P2-breach/0"]
