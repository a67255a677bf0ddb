"""Waiting for the client through Slack, end to end: ``/ticket ask`` and ``/ticket wait`` by a
staff member, and the client's answer in their thread ending the wait. The real web app and
bolt app, the vendor's ``slack_sdk`` against the loopback fake Slack API, signed requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.bootstrap import bootstrap
from adapters.slack.component import SlackComponent
from adapters.storage import Database
from bot.clock import ManualClock
from bot.model import EventKind, TicketStatus
from config.settings import Settings
from tests.slack_fake import SECRET, WAIT, serve_fake
from tests.test_slack import ALICE, CLIENT, SUPPORT, Running, report, serve, settings_for

POLICIES = Path(__file__).parent / "policies"


@pytest.fixture
def slack(database: Database) -> Iterator[Running]:
    fake, fake_server = serve_fake()
    app = bootstrap(settings_for(database, fake), upgrade=False)
    component = SlackComponent(app, sender_interval=0.1)
    server, thread, url = serve(app, [component])
    try:
        yield Running(app, fake, url, component)
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        fake_server.shutdown()
        app.close()


def test_ask_waits_and_the_clients_thread_reply_ends_the_wait(slack: Running) -> None:
    slack.event(report(), "EvW01")
    slack.wait_processed(1)
    ref = slack.app.helpdesk.list()[0].reference
    r = slack.command(ALICE, f"ask {ref} Which browser do you use?").json()
    assert "waiting for the client's answer" in r["text"]
    question = slack.fake.wait_for("chat.postMessage", channel=SUPPORT, count=2)[1]
    assert question.params["thread_ts"] == "1790000100.000100"
    assert question.params["text"] == "Which browser do you use?"
    t = slack.app.helpdesk.show(ref).ticket
    assert t.status == TicketStatus.PAUSED and t.waiting_since is not None
    assert t.waiting_since.actor == f"alice (slack:{ALICE})"

    slack.event({"type": "message", "channel": SUPPORT, "user": CLIENT, "text": "Firefox 133",
                 "ts": "1790000100.000900", "thread_ts": "1790000100.000100"}, "EvW02")
    rows = slack.wait_processed(2)
    assert {r.key: r.reason for r in rows}["EvW02"] == "follow-up: the client answered"
    t = slack.app.helpdesk.show(ref).ticket
    assert t.status == TicketStatus.OPEN and t.waiting_since is None
    ended = t.last(EventKind.WAITING_ENDED)
    assert ended is not None and ended.data == {"by": "client", "channel": "slack"}
    assert ended.actor == f"slack:{CLIENT}"


def test_wait_and_resume_by_command_and_mistakes_are_told(slack: Running) -> None:
    slack.event(report(), "EvW10")
    slack.wait_processed(1)
    ref = slack.app.helpdesk.list()[0].reference
    assert "waiting for the client" in slack.command(ALICE, f"wait {ref} asked for logs"
                                                     ).json()["text"]
    since = slack.app.helpdesk.show(ref).ticket.waiting_since
    assert since is not None and since.data["reason"] == "asked for logs"
    again = slack.command(ALICE, f"wait {ref}").json()["text"]
    assert "already waiting for the client" in again
    assert "/ticket wait" in slack.command(ALICE, "help").json()["text"]
    assert "usage: /ticket ask" in slack.command(ALICE, f"ask {ref}").json()["text"]
    assert "counting again" in slack.command(ALICE, f"resume {ref}").json()["text"]
    t = slack.app.helpdesk.show(ref).ticket
    assert t.waiting_since is None
    ended = t.last(EventKind.WAITING_ENDED)
    assert ended is not None and ended.data["by"] == "staff"
    assert t.status == TicketStatus.NEW  # never answered


@pytest.fixture
def waiting_slack(database: Database) -> Iterator[tuple[Running, ManualClock]]:
    """The Slack app under the waiting fixture policy (nudge after 1 working day of 2), on a
    manual clock: Mon 23 Nov 2026 09:00 Brussels."""
    fake, fake_server = serve_fake()
    storage: dict[str, object] = {"url": database.url.render_as_string(hide_password=False)}
    if database.schema:
        storage["schema"] = database.schema
    settings = {
        "storage": storage, "web": {"enabled": True},
        "policies": {"default": "waiting", "paths": [str(POLICIES)]},
        "slack": {"enabled": True, "bot_token": "xoxb-test", "signing_secret": SECRET,
                  "api_base_url": fake.base_url},
        "clients": [{"name": "acme", "policy": "waiting", "email_domains": ["acme.example"],
                     "slack_channels": [SUPPORT], "triage_channel": "CTRIAGE"}],
        "staff": [{"name": "alice", "email": "alice@provider.example", "slack_user": ALICE}],
    }
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    app = bootstrap(Settings.model_validate(settings), clock=clock, upgrade=False)
    component = SlackComponent(app, sender_interval=0.05)
    server, thread, url = serve(app, [component])
    try:
        yield Running(app, fake, url, component), clock
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        fake_server.shutdown()
        app.close()


def test_the_nudge_and_the_resolution_reach_the_clients_slack_thread(
        waiting_slack: tuple[Running, ManualClock]) -> None:
    slack, clock = waiting_slack
    slack.event(report(), "EvW20")
    slack.wait_processed(1)
    hd = slack.app.helpdesk
    ref = hd.list()[0].reference
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))  # Mon 10:00: staff ask
    slack.command(ALICE, f"ask {ref} Which browser?")
    clock.set(datetime(2026, 11, 24, 13, 0, tzinfo=UTC))  # Tue 14:00: half of 26h
    assert hd.tend_waiting() == [(ref, "nudge")]
    thread = "1790000100.000100"
    replies = slack.fake.wait_for("chat.postMessage", channel=SUPPORT, count=3)
    nudge = replies[2].params
    assert nudge["thread_ts"] == thread
    assert "still waiting for your answer" in nudge["text"]
    assert "Answer in this thread" in nudge["text"]
    assert "Without an answer by Wed 25 Nov 2026 18:00 CET" in nudge["text"]
    clock.set(datetime(2026, 11, 25, 17, 0, tzinfo=UTC))  # Wed 18:00: the end
    assert hd.tend_waiting() == [(ref, "resolve")]
    done = slack.fake.wait_for("chat.postMessage", channel=SUPPORT, count=4)[3].params
    assert done["thread_ts"] == thread
    assert "on Mon 23 Nov 2026 10:00 CET and have had no answer" in done["text"]
    assert hd.show(ref).ticket.status == TicketStatus.RESOLVED
