"""A new ticket of a client with a tracker becomes one issue / card / task, exactly once:
through the outbox, the reference looked for before a create, across retries, a create whose
answer was lost, and two instances delivering at once. Against each vendor's loopback fake,
called by the real client library (``jira``, the bot's httpx Trello client, ``asana``)."""

from __future__ import annotations

import threading

import pytest

from adapters.storage import Database
from adapters.storage.outbox import OutboxStore
from adapters.storage.trackers import KIND
from adapters.trackers.setup import tracker_api
from bot.clock import ManualClock
from bot.priority import Priority
from bot.tracker.item import item_text
from tests.tracker_env import (
    KINDS,
    app_for,
    items_of,
    link,
    make_fake,
    priority_of,
    tracker_rows,
    tracker_table,
)


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_ticket_creates_one_item_with_what_the_tracker_needs(
        kind: str, database: Database, clock: ManualClock) -> None:
    fake = make_fake(kind)
    app, tracker = app_for(database, clock, tracker_table(kind, fake))
    try:
        view = app.helpdesk.register(subject="Checkout is down", body="All payments fail.",
                                     client="acme", requester="jan@acme.example",
                                     priority=Priority.P2, actor="alice", reason="triage")
        assert tracker_rows(app) == {"pending": 1}  # queued with the ticket, nothing sent
        assert items_of(kind, fake, view.reference) == []
        assert tracker.sender.send_due() == 1
        items = items_of(kind, fake, view.reference)
        assert len(items) == 1
        text = str(items[0].get("fields", items[0]).get("description")
                   or items[0].get("desc") or items[0].get("notes"))
        assert view.reference in text and "jan@acme.example" in text
        assert "Response due:" in text and "Resolution due:" in text
        assert f"{'https://bot.provider.example'}/staff/tickets/{view.reference}" in text
        assert view.ticket.id is not None
        found = link(app, view.ticket.id)
        assert found is not None and found.key and found.state == "new"
        assert priority_of(fake, found.key) == "P2"
        assert tracker.sender.send_due() == 0  # nothing twice
        assert len(items_of(kind, fake, view.reference)) == 1
    finally:
        app.close()
        fake.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_an_item_made_by_a_create_whose_answer_was_lost_is_found_not_made_again(
        kind: str, database: Database, clock: ManualClock) -> None:
    fake = make_fake(kind)
    app, tracker = app_for(database, clock, tracker_table(kind, fake))
    try:
        view = app.helpdesk.register(subject="Login loops", client="acme",
                                     requester="jan@acme.example")
        # an earlier try made the item, and died before it could record so
        made = tracker_api(app.settings.clients[0].tracker).create(item_text(view))
        assert tracker.sender.send_due() == 1
        assert len(items_of(kind, fake, view.reference)) == 1
        assert view.ticket.id is not None
        found = link(app, view.ticket.id)
        assert found is not None and found.key == made.key
    finally:
        app.close()
        fake.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_two_instances_delivering_at_once_make_one_item(
        kind: str, database: Database, clock: ManualClock) -> None:
    fake = make_fake(kind)
    table = tracker_table(kind, fake)
    one, first = app_for(database, clock, table)
    two, second = app_for(database, clock, table)
    try:
        refs = [one.helpdesk.register(subject=f"Incident {i}", client="acme",
                                      requester="jan@acme.example").reference
                for i in range(6)]
        sent: list[int] = []
        runs = [threading.Thread(target=lambda s=s: sent.append(s.sender.send_due()))
                for s in (first, second)]
        for r in runs:
            r.start()
        for r in runs:
            r.join()
        assert sum(sent) == 6
        assert all(len(items_of(kind, fake, ref)) == 1 for ref in refs)
        assert tracker_rows(one) == {"sent": 6}
    finally:
        one.close()
        two.close()
        fake.stop()


def test_a_ticket_of_a_client_without_a_tracker_queues_nothing(
        database: Database, clock: ManualClock) -> None:
    fake = make_fake("jira")
    app, _tracker = app_for(database, clock, tracker_table("jira", fake))
    try:
        app.helpdesk.register(subject="No client", requester="someone@else.example")
        with app.uow.reader() as uow:
            assert OutboxStore(uow.session).counts(KIND) == {}
    finally:
        app.close()
        fake.stop()
