"""A tracker outage loses nothing: the work waits in the outbox, backs off, shows on
``/healthz`` and ``/metrics``; once the tracker is back everything arrives once. A permanent
refusal (403) fails at once and is one readable note on the ticket (which triage sees), not
a retry storm."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from adapters.storage import Database
from adapters.storage.outbox import OutboxStore
from adapters.storage.trackers import KIND
from adapters.web.app import create_app
from bot.clock import ManualClock
from bot.model import EventKind
from tests.tracker_env import (
    KINDS,
    app_for,
    comments_of,
    items_of,
    link,
    make_fake,
    tracker_rows,
    tracker_table,
)
from tests.webserve import serve, wait_for


@pytest.mark.parametrize("kind", KINDS)
def test_an_outage_queues_shows_on_health_and_everything_arrives_once_after(
        kind: str, database: Database, clock: ManualClock) -> None:
    fake = make_fake(kind)
    app, tracker = app_for(database, clock, tracker_table(kind, fake))
    web = create_app([tracker], app.db, app.helpdesk, app.metrics)
    sender = tracker.sender
    try:
        with serve(web.routes, start=tracker.start, stop=tracker.stop) as base:
            fake.stop()  # down
            refs = [app.helpdesk.register(subject=f"Incident {i}", client="acme",
                                          requester="jan@acme.example").reference
                    for i in range(3)]
            for ref in refs:
                app.helpdesk.note(ref, f"looking at {ref}", actor="alice")
            for _ in range(3):  # three rounds, each a failed call: down after three
                sender.wake()
                before = sender.failures
                wait_for(lambda b=before: sender.failures > b, "a failed call")
                clock.advance(timedelta(minutes=20))  # past each backoff
            health = httpx.get(f"{base}/healthz")
            assert health.status_code == 503
            check = health.json()["checks"]["trackers"]
            assert check["status"] == "down" and "cannot reach" in check["detail"]
            # nothing lost, nothing failed: every row waits (or is being tried again)
            metrics = httpx.get(f"{base}/metrics").text
            waiting = re.findall(r'^supportbot_tracker_outbox\{client="acme",state="(\w+)"\} '
                                 r'([0-9.]+)$', metrics, flags=re.M)
            assert {state for state, _ in waiting} <= {"pending", "sending"}
            assert sum(float(n) for _, n in waiting) == 6
            assert set(tracker_rows(app)) <= {"pending", "sending"}
            fake.start()  # back, on the same port
            clock.advance(timedelta(hours=2))
            sender.wake()
            wait_for(lambda: tracker_rows(app) == {"sent": 6}, "everything delivered")
            assert httpx.get(f"{base}/healthz").json()["checks"]["trackers"]["status"] == "ok"
        for ref in refs:
            assert len(items_of(kind, fake, ref)) == 1
        for view in app.helpdesk.list(client="acme"):
            assert view.ticket.id is not None
            found = link(app, view.ticket.id)
            assert found is not None and found.key
            assert len(comments_of(fake, found.key)) == 1
    finally:
        app.close()
        fake.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_a_permanent_refusal_is_one_readable_error_not_a_retry_storm(
        kind: str, database: Database, clock: ManualClock) -> None:
    fake = make_fake(kind)
    app, tracker = app_for(database, clock, tracker_table(kind, fake))
    try:
        fake.refuse = 403
        view = app.helpdesk.register(subject="Down", client="acme",
                                     requester="jan@acme.example")
        assert tracker.sender.send_due() == 0
        app.helpdesk.note(view.reference, "a later note", actor="alice")
        clock.advance(timedelta(hours=1))
        assert tracker.sender.send_due() == 0
        calls = len(fake.calls)
        clock.advance(timedelta(days=2))
        assert tracker.sender.send_due() == 0
        assert len(fake.calls) == calls  # failed rows are not tried again
        with app.uow.reader() as uow:
            rows = OutboxStore(uow.session).items(kind=KIND)
        assert {r.state for r in rows} == {"failed"}
        assert rows[-1].attempts == 1  # the create: refused once, not retried
        t = app.helpdesk.show(view.reference).ticket
        notes = [e for e in t.events if e.kind == EventKind.NOTE and e.actor == "supportbot"]
        assert len(notes) == 1
        assert "refused the ticket's create" in notes[0].data["text"]
        assert "403" in notes[0].data["text"] and "outbox retry" in notes[0].data["text"]
        assert view.ticket.id is not None
        found = link(app, view.ticket.id)
        assert found is not None and "403" in found.error and found.key is None
        assert tracker.sender.send_due() == 0
        assert len(fake.calls) == calls  # the refusal note is not sent to the tracker
    finally:
        app.close()
        fake.stop()
