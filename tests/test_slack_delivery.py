"""Delivering Slack work: queued in the ticket's transaction, sent with retries and backoff on
the injected clock, updated in place; and alerts into the triage thread."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.bootstrap import App, bootstrap
from adapters.slack.alerts import SlackAlertSink
from adapters.slack.sender import SlackSender
from adapters.storage import Database, SqlUnitOfWork
from bot.alerts import Alert
from bot.clock import ManualClock
from bot.priority import Priority
from tests.slack_fake import FakeSlack, serve_fake
from tests.test_slack import ALICE, TRIAGE, settings_for


@pytest.fixture
def setup(database: Database, clock: ManualClock) -> Iterator[tuple[App, FakeSlack, SlackSender]]:
    fake, server = serve_fake()
    app = bootstrap(settings_for(database, fake), clock=clock, upgrade=False)
    sender = SlackSender(app.uow, clock, AsyncWebClient(token="xoxb-test",
                                                       base_url=fake.base_url), app.helpdesk)
    try:
        yield app, fake, sender
    finally:
        server.shutdown()
        app.close()


def jobs(app: App) -> list[tuple[str, str, int]]:
    with SqlUnitOfWork(app.db, write=False) as uow:
        return [(j.kind, j.state, j.attempts) for j in uow.slack.jobs()]


def test_failed_delivery_is_retried_after_its_backoff_and_changes_update_in_place(
        setup: tuple[App, FakeSlack, SlackSender], clock: ManualClock) -> None:
    app, fake, sender = setup
    v = app.helpdesk.register(subject="Checkout down", body="no workaround", client="acme")
    assert jobs(app) == [("triage", "pending", 0)]  # queued with the registration
    fake.fail["chat.postMessage"] = ["internal_error"]
    assert asyncio.run(sender.send_due()) == 0
    assert jobs(app) == [("triage", "pending", 1)]
    assert asyncio.run(sender.send_due()) == 0  # not due yet: nothing is called
    assert len(fake.called("chat.postMessage")) == 1
    clock.advance(timedelta(seconds=5))
    assert asyncio.run(sender.send_due()) == 1
    assert jobs(app) == [("triage", "sent", 2)]
    with SqlUnitOfWork(app.db, write=False) as uow:
        assert v.ticket.id is not None
        triage = uow.slack.thread_of(v.ticket.id, "triage")
    assert triage is not None and triage[0] == TRIAGE

    # two changes before the sender runs: one render shows both, as an update in place
    app.helpdesk.assign(v.reference, "alice", actor="alice")
    app.helpdesk.set_priority(v.reference, Priority.P2, actor="alice", reason="one user")
    # (lowering the P1 also waives its phone follow-up: three lines in the thread)
    assert [k for k, s, _ in jobs(app) if s == "pending"] == ["triage"] + ["thread"] * 3
    assert asyncio.run(sender.send_due()) == 4
    [update] = fake.called("chat.update")
    assert (update.params["channel"], update.params["ts"]) == triage
    assert "*P2*" in str(update.params["blocks"]) and "assigned to alice" in \
        str(update.params["blocks"])
    lines = [c.params["text"] for c in fake.called("chat.postMessage") if c.params.get(
        "thread_ts")]
    assert any(t.startswith("*assigned*") for t in lines)
    assert any("priority set" in t and "one user" in t for t in lines)
    assert any("phone followup waived" in t for t in lines)


def test_a_permanent_slack_error_fails_the_job_at_once(
        setup: tuple[App, FakeSlack, SlackSender]) -> None:
    app, fake, sender = setup
    app.helpdesk.register(subject="Checkout down", client="acme")
    fake.fail["chat.postMessage"] = ["channel_not_found"]
    asyncio.run(sender.send_due())
    assert jobs(app) == [("triage", "failed", 1)]


def test_alerts_go_into_the_triage_thread_mentioning_the_assignee(
        setup: tuple[App, FakeSlack, SlackSender], clock: ManualClock) -> None:
    app, fake, sender = setup
    v = app.helpdesk.register(subject="Checkout down", client="acme")
    asyncio.run(sender.send_due())
    [post] = fake.called("chat.postMessage", channel=TRIAGE)
    assert v.ticket.id is not None
    sink = SlackAlertSink(app.uow.reader, "xoxb-test", fake.base_url)
    sink.deliver(Alert(key=f"{v.reference}/response/75%/0", ticket_id=v.ticket.id,
                       reference=v.reference, client="acme", priority=v.ticket.priority,
                       kind="reminder", text="response due at 11:00 <!channel>",
                       at=clock.now(), targets=("triage", "assignee"), assignee="alice"))
    [alert] = [c for c in fake.called("chat.postMessage") if c.params.get("thread_ts")]
    assert alert.params["channel"] == TRIAGE
    assert alert.params["thread_ts"] == fake.answers[0]["ts"]
    assert alert.params["text"].startswith(f"<@{ALICE}> ")
    assert "&lt;!channel&gt;" in alert.params["text"]
    assert post.params.get("thread_ts") is None
    # an alert for the on-call phone only is not Slack's to deliver
    sink.deliver(Alert(key="k2", ticket_id=v.ticket.id, reference=v.reference, client="acme",
                       priority=v.ticket.priority, kind="page", text="call", at=clock.now(),
                       targets=("oncall",)))
    assert len(fake.called("chat.postMessage")) == 2
