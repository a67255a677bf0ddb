"""Waiting for the client through Slack, end to end: ``/ticket ask`` and ``/ticket wait`` by a
staff member, and the client's answer in their thread ending the wait. The real web app and
bolt app, the vendor's ``slack_sdk`` against the loopback fake Slack API, signed requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.bootstrap import bootstrap
from adapters.slack.component import SlackComponent
from adapters.storage import Database
from bot.model import EventKind, TicketStatus
from tests.slack_fake import WAIT, serve_fake
from tests.test_slack import ALICE, CLIENT, SUPPORT, Running, report, serve, settings_for


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
