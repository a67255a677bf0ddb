"""Waiting for the client, end to end by mail: a real SMTP intake, processing from storage,
the outbox sent to a real relay. Staff reply as a question, the client is nudged at half-time,
their answer by mail ends the wait, and a second wait with no answer resolves the ticket by
itself with a mail saying so. Policy: tests/policies/waiting.toml (Brussels office hours,
``after = "2wd"``); the instants are counted by hand in the comments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.storage import Database
from bot.model import EventKind, TicketStatus
from tests.mailbot import Bot, mail, reply_to
from tests.mailpeers import LoopThread
from tests.policy_bot import MON_09, policy_bot


@pytest.fixture
def wbot(database: Database, loop: LoopThread) -> Iterator[Bot]:
    with policy_bot(database, loop, "waiting") as bot:
        yield bot


def test_a_question_waits_nudges_at_half_time_and_the_clients_mail_ends_the_wait(
        wbot: Bot) -> None:
    hd = wbot.app.helpdesk
    outcome, [ack] = wbot.roundtrip(mail("jo@acme.example", "Export broken",
                                         "The CSV export fails for my account."))
    ref = outcome.reference or ""
    wbot.clock.set(MON_09 + timedelta(hours=1))  # Mon 10:00: staff ask
    view = hd.respond(ref, actor="alice", message="Which file do you export?",
                      as_question=True)
    assert view.ticket.status == TicketStatus.PAUSED and view.ticket.waiting_since
    [question] = wbot.deliver()
    assert "Which file do you export?" in question.get_content()
    assert question["In-Reply-To"] == ack["Message-ID"] or \
        ack["Message-ID"] in str(question["References"])

    # the wait began Mon 10:00; 2wd end at the close of Wednesday (18:00), 26 working hours
    # later; the nudge is 13 working hours in: Mon 10-18 (8h), then Tue 09:00 + 5h = 14:00
    wbot.clock.set(datetime(2026, 11, 24, 12, 59, tzinfo=UTC))  # Tue 13:59
    assert hd.tend_waiting() == [] and wbot.deliver() == []
    wbot.clock.set(datetime(2026, 11, 24, 13, 0, tzinfo=UTC))  # Tue 14:00
    assert hd.tend_waiting() == [(ref, "nudge")]
    [nudge] = wbot.deliver()
    body = nudge.get_content()
    assert nudge["To"] == "jo@acme.example" and ref in str(nudge["Subject"])
    assert "still waiting for your answer" in body
    assert "we asked you on Mon 23 Nov 2026 10:00 CET" in body
    assert "Without an answer by Wed 25 Nov 2026 18:00 CET" in body
    assert hd.tend_waiting() == [] and wbot.deliver() == []  # once

    # the client answers by mail (Tue 15:00): the wait ends, the resolution clock runs again
    wbot.clock.set(datetime(2026, 11, 24, 14, 0, tzinfo=UTC))
    o2, sent = wbot.roundtrip(reply_to(nudge, "jo@acme.example", "It is orders.csv"))
    assert (o2.reference, o2.action) == (
        ref, "follow-up: the client answered, the ticket waits no more")
    assert sent == []
    t = hd.show(ref).ticket
    assert t.status == TicketStatus.OPEN and t.waiting_since is None
    assert t.events[-1].kind == EventKind.WAITING_ENDED
    assert t.events[-1].data == {"by": "client", "channel": "email"}
    # resolution (registered Mon 09:00, P3 40h): Mon 09-10 (1h) before the wait; Tue 15:00
    # -> 15:30 after it; the 29 hours in between do not count
    wbot.clock.set(datetime(2026, 11, 24, 14, 30, tzinfo=UTC))
    res = hd.show(ref).clocks["resolution"]
    assert res.used == timedelta(hours=1, minutes=30)
    wbot.clock.set(datetime(2026, 11, 25, 17, 0, tzinfo=UTC))  # the first wait's end
    assert hd.tend_waiting() == []  # answered: nothing resolves
    assert hd.show(ref).ticket.status == TicketStatus.OPEN


def test_no_answer_resolves_the_ticket_by_itself_with_a_mail_saying_so(wbot: Bot) -> None:
    hd = wbot.app.helpdesk
    outcome, _ = wbot.roundtrip(mail("jo@acme.example", "Slow page", "Reports are slow."))
    ref = outcome.reference or ""
    wbot.clock.set(datetime(2026, 11, 27, 16, 0, tzinfo=UTC))  # Fri 17:00: staff wait
    hd.wait_for_client(ref, actor="alice", reason="asked for a HAR file")
    assert wbot.deliver() == []  # a plain wait sends nothing
    # 2wd from Friday: the close of Tuesday 1 Dec (18:00 CET); working time Fri 17-18 (1h)
    # + Mon (9h) + Tue (9h) = 19h; half, 9h30m, is Fri 1h + Mon 8h30m = Mon 17:30
    wbot.clock.set(datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    assert hd.tend_waiting() == [(ref, "nudge")]
    [nudge] = wbot.deliver()
    assert "Without an answer by Tue 01 Dec 2026 18:00 CET" in nudge.get_content()
    wbot.clock.set(datetime(2026, 12, 1, 17, 0, tzinfo=UTC))
    assert hd.tend_waiting() == [(ref, "resolve")]
    [resolved] = wbot.deliver()
    body = resolved.get_content()
    assert "we asked you a question about" in body.lower()
    assert "on Fri 27 Nov 2026 17:00 CET and have had no answer" in body
    assert "reply to this mail within 7 days and the ticket reopens" in body
    t = hd.show(ref).ticket
    assert t.status == TicketStatus.RESOLVED
    assert t.last(EventKind.RESOLVED).data["unanswered"] is True  # type: ignore[union-attr]
    assert hd.tend_waiting() == [] and wbot.deliver() == []
    # the client replies the next day: the ticket reopens as after any resolution
    wbot.clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    o3, _ = wbot.roundtrip(reply_to(resolved, "jo@acme.example", "Sorry, here it is."))
    assert (o3.reference, o3.action) == (ref, "follow-up reopened the ticket")
