"""Waiting for the client, answered by phone: the client's call to the Twilio number (a
webhook signed with Twilio's algorithm, over HTTP to the served component) ends the wait of
their ticket, once, however often Twilio retries the webhook."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.storage import Database
from bot.clock import ManualClock
from bot.model import EventKind, TicketStatus
from bot.priority import Priority
from tests.test_twilio import ACME_PHONE, TWILIO_NUMBER, Phone, phone_bot


@pytest.fixture
def desk(database: Database, clock: ManualClock) -> Iterator[Phone]:
    with phone_bot(database, clock) as p:
        yield p


def test_the_clients_call_is_the_answer_a_waiting_ticket_waits_for(desk: Phone) -> None:
    hd = desk.app.helpdesk
    ref = hd.register(subject="Report totals wrong", body="the totals are off", client="acme",
                      priority=Priority.P3, actor="alice", reason="minor").reference
    hd.respond(ref, actor="alice", message="Which report?", as_question=True)
    assert desk.ticket(ref).waiting_since is not None
    params = {"CallSid": "CA" + "7" * 32, "From": ACME_PHONE, "To": TWILIO_NUMBER}
    r = desk.post("voice", params)
    assert r.status_code == 200 and "<Record" not in r.text
    assert "your answer about incident T 1 0 0 1" in r.text and "call you back" in r.text
    assert desk.post("voice", params).text == r.text  # Twilio retried: same answer
    t = desk.ticket(ref)
    assert t.status == TicketStatus.OPEN and t.waiting_since is None
    ended = [e for e in t.events if e.kind == EventKind.WAITING_ENDED]
    assert len(ended) == 1 and ended[0].data == {"by": "client", "channel": "phone"}
    assert ended[0].actor == f"phone:{ACME_PHONE}"
    note = t.last(EventKind.NOTE)
    assert note is not None and "call them back" in note.data["text"]


def test_a_call_with_no_ticket_waiting_still_leaves_a_message(desk: Phone) -> None:
    hd = desk.app.helpdesk
    ref = hd.register(subject="Report totals wrong", client="acme", priority=Priority.P3,
                      actor="alice", reason="minor").reference
    r = desk.post("voice", {"CallSid": "CA" + "8" * 32, "From": ACME_PHONE,
                            "To": TWILIO_NUMBER})
    assert "<Record" in r.text  # not waiting: the ordinary voicemail
    assert EventKind.WAITING_ENDED not in [e.kind for e in desk.ticket(ref).events]
