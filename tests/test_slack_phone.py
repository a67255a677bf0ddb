"""A P1 reported in Slack has the same phone duty as one by mail: its link-back asks the client
to call, and a late call is chased in the client's Slack thread. The real bolt app's intake,
the real ``slack_sdk`` client against the fake Web API, and the phone desk of the bootstrap."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from adapters.bootstrap import App, bootstrap
from adapters.reminders.sinks import PHONE
from adapters.slack.component import SlackComponent
from bot.clock import ManualClock
from bot.model import EventKind
from config.settings import Settings
from tests.slack_fake import FakeSlack, event_body, serve_fake
from tests.test_slack import SUPPORT, TRIAGE, report, settings_for
from tests.test_twilio import RecordingSink

NUMBER = "+3216000000"
READ = "+32 16 00 00 00"  # as people read it


def with_phone(settings: Settings) -> Settings:
    """Twilio on (the phone desk chases late calls; no call is placed here)."""
    data: dict[str, Any] = settings.model_dump(mode="json", exclude_unset=True,
                                                by_alias=True)
    data["slack"] |= {"bot_token": "xoxb-test",
                      "signing_secret": settings.slack.signing_secret.get_secret_value()}
    return Settings.model_validate({
        **data,
        "mail": {"phone_number": NUMBER},
        "web": {"enabled": True, "public_url": "http://127.0.0.1:9"},
        "twilio": {"enabled": True, "account_sid": "AC" + "0" * 32, "auth_token": "t" * 32,
                   "from_number": "+3278000000", "api_base_url": "http://127.0.0.1:9",
                   "followup_within_minutes": 60},
        "oncall": {"numbers": ["+3247000001"]},
    })


@pytest.fixture
def bot(database: Any, clock: ManualClock) -> Iterator[tuple[App, FakeSlack, SlackComponent]]:
    fake, server = serve_fake()
    app = bootstrap(with_phone(settings_for(database, fake)), clock=clock, upgrade=False)
    try:
        yield app, fake, SlackComponent(app)
    finally:
        server.shutdown()
        app.close()


async def deliver(component: SlackComponent, event: dict[str, Any], event_id: str) -> None:
    row, _new = component.intake.accept(json.loads(event_body(event, event_id)))
    assert await component.intake.process(row) == "done"
    await component.sender.send_due()


async def test_a_slack_p1_is_asked_to_call_and_a_late_call_is_chased_in_its_thread(
        bot: tuple[App, FakeSlack, SlackComponent], clock: ManualClock) -> None:
    app, fake, component = bot
    await deliver(component, report(), "EvP1")
    [v] = app.helpdesk.list()
    ref = v.reference
    assert v.ticket.priority == "P1" and v.ticket.phone_followup == "pending"
    [link] = fake.called("chat.postMessage", channel=SUPPORT)
    assert link.params["thread_ts"] == "1790000100.000100"
    assert f"Please call us now on {READ} and mention {ref}." in link.params["text"]

    assert app.phone is not None
    sink = RecordingSink()
    app.alert_sinks.add(sink, PHONE)
    clock.advance(timedelta(minutes=59))
    assert app.phone.chase_missing() == 0
    clock.advance(timedelta(minutes=2))  # an hour of working time: the call is late
    assert app.phone.chase_missing() == 1
    await component.sender.send_due()
    replies = fake.called("chat.postMessage", channel=SUPPORT)
    assert len(replies) == 2
    reminder = replies[1].params
    assert reminder["thread_ts"] == "1790000100.000100"
    assert f"phone call that must follow a priority 1 report ({ref})" in reminder["text"]
    assert f"Please call us now on {READ} and mention {ref}." in reminder["text"]
    [alert] = sink.alerts
    assert "reminded in their Slack thread" in alert.text
    assert "not reachable" not in alert.text
    # the triage thread has its line too, and chasing again changes nothing
    assert any("phone followup missing" in str(c.params["text"])
               for c in fake.called("chat.postMessage", channel=TRIAGE))
    clock.advance(timedelta(minutes=30))
    assert app.phone.chase_missing() == 0
    await component.sender.send_due()
    assert len(fake.called("chat.postMessage", channel=SUPPORT)) == 2
    events = app.helpdesk.show(ref).ticket.events
    assert [e.kind for e in events].count(EventKind.PHONE_FOLLOWUP_MISSING) == 1
