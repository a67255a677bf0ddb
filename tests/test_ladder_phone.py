"""The ladder's on-call step for a P1's breach: an SMS to whoever is on call and a call through
the existing Twilio paging (the real ``twilio`` client against the fake REST API, webhooks
signed with Twilio's algorithm); once, however often the breach is reminded again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from adapters.reminders.engine import ReminderEngine
from adapters.storage import Database
from bot.clock import ManualClock
from bot.model import EventKind
from tests.test_twilio import ALICE, Phone, new_p1, phone_bot
from tests.webserve import wait_for


@pytest.fixture
def desk(database: Database, clock: ManualClock) -> Iterator[Phone]:
    with phone_bot(database, clock) as p:
        yield p


def test_a_p1_breach_texts_and_calls_on_call_once(desk: Phone) -> None:
    ref = new_p1(desk)  # panenco P1: response due 2 working hours after Mon 09:00
    wait_for(lambda: desk.fake.calls, "the registration's paging call")
    r = desk.post("gather", {"CallSid": desk.fake.calls[0]["Sid"], "Digits": "1"})
    assert "is yours" in r.text  # the registration's page is taken: paging stops
    assert len(desk.fake.messages) == 1  # its SMS
    engine = ReminderEngine(desk.app.uow, desk.clock, desk.app.helpdesk.policies,
                            desk.app.alert_sinks.for_reminders())
    engine.rebuild()
    start = desk.clock.now()
    breach = start + timedelta(hours=2)
    while (nxt := engine.next_wakeup()) is not None and nxt <= breach + timedelta(minutes=1):
        desk.clock.set(max(nxt, desk.clock.now()))
        engine.run_due()
    sms = [m for m in desk.fake.messages if "BREACHED" in m["Body"]]
    assert [m["To"] for m in sms] == [ALICE]
    kinds = desk.kinds(ref)
    assert kinds.count("page_started") == 2
    page = [e for e in desk.ticket(ref).events if e.kind == EventKind.PAGE_STARTED][-1]
    assert page.data["reason"] == "response breached"
    wait_for(lambda: len(desk.fake.calls) == 2, "the breach's paging call")
    assert desk.fake.calls[1]["To"] == ALICE and "T 1 0 0 1" in desk.fake.calls[1]["Twiml"]
    # the breach reminded again an hour later (panenco repeats): an SMS, no second page
    desk.post("gather", {"CallSid": desk.fake.calls[1]["Sid"], "Digits": "1"})
    desk.clock.set(breach + timedelta(hours=1, minutes=1))
    engine.run_due()
    assert desk.kinds(ref).count("page_started") == 2
    assert len([m for m in desk.fake.messages if "BREACHED" in m["Body"]]) == 2
