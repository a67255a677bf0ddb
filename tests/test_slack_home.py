"""The bot's App Home tab: ``app_home_opened`` publishes the user's own tickets and the at-risk
queue with their working time left (``views.publish`` through ``slack_sdk`` to the fake Web
API); a change to their tickets refreshes it, once for a storm of changes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.bootstrap import App, bootstrap
from adapters.slack.component import SlackComponent
from adapters.slack.home import HOME, queue_home
from adapters.storage import Database
from bot.clock import ManualClock
from bot.model import Channel
from bot.priority import Priority
from tests.slack_fake import WAIT, FakeSlack, serve_fake
from tests.test_slack import ALICE, Running, report, running, settings_for

__all__ = ["running"]  # the fixture, shared with tests/test_slack.py
BOB = "UBOB"


def _home_text(fake: FakeSlack, user: str) -> str:
    return json.dumps(fake.homes[user]["blocks"])


def test_opening_the_home_tab_publishes_the_users_tickets(running: Running) -> None:
    running.event(report(), "Ev201")
    running.wait_processed(1)
    ref = running.app.helpdesk.list()[0].reference
    running.app.helpdesk.assign(ref, "alice", actor="test")
    running.event({"type": "app_home_opened", "user": ALICE, "channel": "DHOME", "tab": "home"},
                  "Ev202")
    running.event({"type": "app_home_opened", "user": BOB, "channel": "DBOB", "tab": "home"},
                  "Ev203")
    running.wait_processed(3)
    running.fake.wait_for("views.publish", user_id=BOB)
    running.fake.wait_for("views.publish", user_id=ALICE)
    home = _home_text(running.fake, ALICE)
    assert "Your tickets (1)" in home and ref in home and "At risk" in home
    assert "not mapped to a staff member" in _home_text(running.fake, BOB)
    # the Home she opened is kept current: taking a ticket from her republishes it
    running.app.helpdesk.assign(ref, "bob", actor="test")
    deadline = time.monotonic() + WAIT
    while "Nothing is assigned to you" not in _home_text(running.fake, ALICE):
        assert time.monotonic() < deadline, "a change to her tickets did not refresh her Home"
        time.sleep(0.02)
    assert len(running.fake.called("views.publish", user_id=ALICE)) == 2


@pytest.fixture
def quiet(database: Database) -> Iterator[tuple[App, SlackComponent, FakeSlack, ManualClock]]:
    """Slack on, nothing delivering until the test says so, on a manual clock."""
    fake, server = serve_fake()
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))  # Mon 09:00 Brussels
    app = bootstrap(settings_for(database, fake), clock=clock, upgrade=False)
    component = SlackComponent(app)
    try:
        yield app, component, fake, clock
    finally:
        server.shutdown()
        app.close()


def _pending_homes(app: App) -> list[str]:
    with app.uow.reader() as uow:
        return [j.channel for j in uow.slack.jobs("pending") if j.kind == HOME]


def test_a_storm_of_changes_publishes_the_home_once_with_the_time_left(
        quiet: tuple[App, SlackComponent, FakeSlack, ManualClock]) -> None:
    app, component, fake, clock = quiet
    h = app.helpdesk
    ref = h.register(subject="Checkout down", client="acme", channel=Channel.CLI,
                     priority=Priority.P1, actor="cli:alice", reason="customer called").reference
    other = h.register(subject="Typo", client="acme", priority=Priority.P4,
                       actor="cli:alice", reason="minor").reference
    h.assign(ref, "alice", actor="test")
    assert _pending_homes(app) == [], "a Home never opened is not published"
    with app.uow() as uow:  # she opens the tab (the intake queues this for app_home_opened)
        assert queue_home(uow.slack, ALICE, clock.now())
        uow.commit()
    asyncio.run(component.sender.send_due())
    assert len(fake.called("views.publish", user_id=ALICE)) == 1
    h.assign(other, "alice", actor="test")
    for n in range(10):  # a storm: every change is a Home refresh, one is waiting
        h.note(ref, f"note {n}", actor="alice")  # notes do not change the Home at all
        h.log_time(ref, 0.1, actor="alice")
    h.set_priority(other, Priority.P3, actor="alice", reason="more users")
    h.respond(other, actor="alice", message="On it")
    assert _pending_homes(app) == [ALICE]
    clock.advance(timedelta(hours=1, minutes=40))  # 20 of the P1's 2 working hours left
    asyncio.run(component.sender.send_due())
    publishes = fake.called("views.publish", user_id=ALICE)
    assert len(publishes) == 2, "a storm of changes published the Home more than once"
    home = _home_text(fake, ALICE)
    assert "Your tickets (2)" in home
    assert ref in home and other in home
    assert home.index(ref) < home.index(other), "the most urgent ticket comes first"
    assert "*20m* of working time left" in home
    at_risk = home[home.index("At risk"):]
    assert ref in at_risk and other not in at_risk
    # once published, the next change queues the next refresh
    h.resolve(other, actor="alice")
    assert _pending_homes(app) == [ALICE]
    asyncio.run(component.sender.send_due())
    assert len(fake.called("views.publish", user_id=ALICE)) == 3
    assert "Your tickets (1)" in _home_text(fake, ALICE)


def test_a_change_to_an_at_risk_ticket_refreshes_every_opened_home(
        quiet: tuple[App, SlackComponent, FakeSlack, ManualClock]) -> None:
    app, component, fake, clock = quiet
    h = app.helpdesk
    ref = h.register(subject="Checkout down", client="acme", priority=Priority.P1,
                     actor="cli:alice", reason="customer called").reference
    calm = h.register(subject="Typo", client="acme", priority=Priority.P4,
                      actor="cli:alice", reason="minor").reference
    with app.uow() as uow:  # Bob (not staff) and Carol opened their Home; Dave never did
        for user in (BOB, "UCAROL"):
            assert queue_home(uow.slack, user, clock.now())
        uow.commit()
    asyncio.run(component.sender.send_due())
    assert sorted(c.params["user_id"] for c in fake.called("views.publish")) == [BOB, "UCAROL"]
    h.note(calm, "nobody's Home shows a note", actor="alice")
    h.set_priority(calm, Priority.P3, actor="alice", reason="more users")
    assert _pending_homes(app) == [], "a calm, unassigned ticket refreshed someone's Home"
    clock.advance(timedelta(hours=1, minutes=45))  # the P1 has 15 working minutes left
    h.log_time(ref, 0.5, actor="alice")  # not a change any Home shows
    assert _pending_homes(app) == []
    h.assign(ref, "alice", actor="test")  # taken: the at-risk queue shows who has it
    assert sorted(_pending_homes(app)) == [BOB, "UCAROL"]
    h.respond(ref, actor="alice", message="On it")  # one refresh each waits: none more
    assert sorted(_pending_homes(app)) == [BOB, "UCAROL"]
    asyncio.run(component.sender.send_due())
    gone = _home_text(fake, "UCAROL")
    assert "No ticket is at risk" in gone, "answered in time, it left the queue"
    h.set_priority(ref, Priority.P2, actor="alice", reason="a workaround")  # nothing runs
    h.confirm_cause(ref, actor="alice")  # the resolution clock starts: 8h, far from due
    assert _pending_homes(app) == []
    clock.advance(timedelta(days=1, hours=6))  # ~9 working hours: far from the P2's 24h ...
    h.set_priority(ref, Priority.P1, actor="alice", reason="all users again")  # ... past 8h
    assert sorted(_pending_homes(app)) == [BOB, "UCAROL"], "raised into the queue"
    asyncio.run(component.sender.send_due())
    at_risk = _home_text(fake, "UCAROL")
    assert ref in at_risk and "assigned to alice" in at_risk and "BREACHED" in at_risk
