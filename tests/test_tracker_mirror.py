"""After the item is made, the ticket's life is mirrored to it: priority changes, replies to
the client and staff notes as comments marked as the bot's, cause confirmed, paused, resolved,
reopened, closed as moves, the due date, and the "breached" label when a clock breaches;
each once, in order, against each vendor's fake."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.storage import Database
from adapters.trackers.notify import TrackerBreachSink
from bot.alerts import Alert
from bot.clock import ManualClock
from bot.priority import Priority
from bot.tracker.mirror import MARK
from tests import fake_trello
from tests.fake_asana import FakeAsana
from tests.fake_jira import FakeJira
from tests.fake_trello import FakeTrello
from tests.tracker_env import (
    KINDS,
    app_for,
    comments_of,
    link,
    make_fake,
    priority_of,
    state_of,
    tracker_rows,
    tracker_table,
)


@pytest.mark.parametrize("kind", KINDS)
def test_the_tickets_life_is_mirrored_once_each(kind: str, database: Database,
                                                clock: ManualClock) -> None:
    fake = make_fake(kind)
    app, tracker = app_for(database, clock, tracker_table(kind, fake))
    hd, send = app.helpdesk, tracker.sender.send_due
    try:
        view = hd.register(subject="Exports fail", client="acme", requester="jan@acme.example",
                           priority=Priority.P3, actor="alice", reason="triage")
        ref = view.reference
        send()
        assert view.ticket.id is not None
        found = link(app, view.ticket.id)
        assert found is not None and found.key
        key = found.key
        clock.advance(timedelta(minutes=5))
        hd.respond(ref, actor="alice", message="We are looking into it.")
        hd.note(ref, "Seems to be the CSV writer.", actor="alice")
        hd.set_priority(ref, Priority.P2, actor="alice", reason="more users hit")
        hd.confirm_cause(ref, actor="alice", note="the CSV writer")
        send()
        comments = comments_of(fake, key)
        assert len(comments) == 3 and all(c.startswith(MARK) for c in comments)
        assert "Reply to the client by alice" in comments[0]
        assert "We are looking into it." in comments[0]
        assert "Staff note by alice" in comments[1] and "CSV writer" in comments[1]
        assert "Cause confirmed" in comments[2]
        assert state_of(fake, key) == "open"
        assert priority_of(fake, key) == "P2"
        hd.resolve(ref, actor="alice", note="fixed")
        send()
        assert state_of(fake, key) == "resolved"
        hd.reopen(ref, actor="alice", reason="it came back")
        send()
        assert state_of(fake, key) == "open"
        after = link(app, view.ticket.id)
        assert after is not None and (after.state, after.priority) == ("open", "P2")
        assert tracker_rows(app).keys() == {"sent"}
        assert send() == 0
        assert len(comments_of(fake, key)) == 3  # nothing twice
    finally:
        app.close()
        fake.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_a_breach_puts_the_breached_label_on_the_item_once(kind: str, database: Database,
                                                            clock: ManualClock) -> None:
    fake = make_fake(kind)
    table = tracker_table(kind, fake, **({"breached_label": "1400000000000009"}
                                         if kind == "asana" else {}))
    app, tracker = app_for(database, clock, table)
    try:
        view = app.helpdesk.register(subject="Slow", client="acme",
                                     requester="jan@acme.example")
        tracker.sender.send_due()
        assert view.ticket.id is not None
        sink = TrackerBreachSink(app.uow, clock, {"acme": kind})
        alert = Alert(key="x", ticket_id=view.ticket.id, reference=view.reference,
                      client="acme", priority=view.ticket.priority, kind="breach",
                      text="breached", at=clock.now(), clock="response")
        sink.deliver(alert)
        sink.deliver(alert)  # a second instance's reminder engine: the same key
        sink.deliver(Alert(**{**alert.__dict__, "kind": "reminder", "clock": "resolution"}))
        assert tracker.sender.send_due() == 1
        found = link(app, view.ticket.id)
        assert found is not None and found.key
        if isinstance(fake, FakeJira):
            assert fake.issues[found.key]["fields"]["labels"].count("sla-breached") == 1
        elif isinstance(fake, FakeTrello):
            assert fake.cards[found.key]["idLabels"].count(fake_trello.LABELS["breached"]) == 1
        else:
            assert isinstance(fake, FakeAsana)
            assert fake.tasks[found.key]["tags"] == ["1400000000000009"]
    finally:
        app.close()
        fake.stop()


def test_work_on_an_item_not_made_yet_waits_for_it(database: Database,
                                                   clock: ManualClock) -> None:
    fake = make_fake("trello")
    app, tracker = app_for(database, clock, tracker_table("trello", fake))
    try:
        view = app.helpdesk.register(subject="Down", client="acme",
                                     requester="jan@acme.example")
        fake.refuse = 503  # the create cannot go now
        app.helpdesk.note(view.reference, "first note", actor="alice")
        assert tracker.sender.send_due() == 0
        assert tracker_rows(app) == {"pending": 2}  # both wait, neither failed
        fake.refuse = None
        clock.advance(timedelta(minutes=1))
        assert tracker.sender.send_due() == 2
        assert view.ticket.id is not None
        found = link(app, view.ticket.id)
        assert found is not None and found.key
        assert len(comments_of(fake, found.key)) == 1
    finally:
        app.close()
        fake.stop()
