"""Delivering Slack work: queued in the ticket's transaction, sent with retries and backoff on
the injected clock, updated in place; and alerts into the triage thread."""

from __future__ import annotations

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


async def test_failed_delivery_is_retried_after_its_backoff_and_changes_update_in_place(
        setup: tuple[App, FakeSlack, SlackSender], clock: ManualClock) -> None:
    app, fake, sender = setup
    v = app.helpdesk.register(subject="Checkout down", body="no workaround", client="acme")
    assert jobs(app) == [("triage", "pending", 0)]  # queued with the registration
    fake.fail["chat.postMessage"] = ["internal_error"]
    assert await sender.send_due() == 0
    assert jobs(app) == [("triage", "pending", 1)]
    assert await sender.send_due() == 0  # not due yet: nothing is called
    assert len(fake.called("chat.postMessage")) == 1
    clock.advance(timedelta(seconds=5))
    assert await sender.send_due() == 1
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
    assert await sender.send_due() == 4
    [update] = fake.called("chat.update")
    assert (update.params["channel"], update.params["ts"]) == triage
    assert "*P2*" in str(update.params["blocks"]) and "assigned to alice" in \
        str(update.params["blocks"])
    lines = [c.params["text"] for c in fake.called("chat.postMessage") if c.params.get(
        "thread_ts")]
    assert any(t.startswith("*assigned*") for t in lines)
    assert any("priority set" in t and "one user" in t for t in lines)
    assert any("phone followup waived" in t for t in lines)


async def test_a_permanent_slack_error_fails_the_job_at_once(
        setup: tuple[App, FakeSlack, SlackSender]) -> None:
    app, fake, sender = setup
    app.helpdesk.register(subject="Checkout down", client="acme")
    fake.fail["chat.postMessage"] = ["channel_not_found"]
    await sender.send_due()
    assert jobs(app) == [("triage", "failed", 1)]


async def test_alerts_go_into_the_triage_thread_mentioning_the_assignee(
        setup: tuple[App, FakeSlack, SlackSender], clock: ManualClock) -> None:
    app, fake, sender = setup
    v = app.helpdesk.register(subject="Checkout down", client="acme")
    await sender.send_due()
    [post] = fake.called("chat.postMessage", channel=TRIAGE)
    assert v.ticket.id is not None
    sink = SlackAlertSink(app.uow, clock)
    alert_of = Alert(key=f"{v.reference}/response/75%/0", ticket_id=v.ticket.id,
                     reference=v.reference, client="acme", priority=v.ticket.priority,
                     kind="reminder", text="response due at 11:00 <!channel>",
                     at=clock.now(), targets=("triage", "assignee"), assignee="alice")
    sink.deliver(alert_of)
    sink.deliver(alert_of)  # the same alert again (a retry): queued once
    assert await sender.send_due() == 1
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
    await sender.send_due()
    assert len(fake.called("chat.postMessage")) == 2


def triage_thread(app: App, ticket_id: int | None) -> tuple[str, str] | None:
    assert ticket_id is not None
    with SqlUnitOfWork(app.db, write=False) as uow:
        return uow.slack.thread_of(ticket_id, "triage")


async def test_a_deleted_triage_post_is_posted_again_and_its_changes_go_there(
        setup: tuple[App, FakeSlack, SlackSender]) -> None:
    app, fake, sender = setup
    v = app.helpdesk.register(subject="Checkout down", client="acme")
    await sender.send_due()
    first = triage_thread(app, v.ticket.id)
    assert first is not None
    fake.deleted.add(first)  # someone deleted the triage post in Slack
    app.helpdesk.assign(v.reference, "alice", actor="alice")
    assert await sender.send_due() == 2
    assert [k for k, s, _ in jobs(app) if s != "sent"] == []
    [update] = fake.called("chat.update")
    assert update.params["ts"] == first[1]  # tried in place, then posted again
    again = triage_thread(app, v.ticket.id)
    assert again is not None and again != first and again[0] == TRIAGE
    posts = [c.params for c in fake.called("chat.postMessage", channel=TRIAGE)]
    assert [p.get("thread_ts") for p in posts] == [None, None, again[1]]
    assert "assigned to alice" in str(posts[1]["blocks"])
    assert posts[2]["text"].startswith("*assigned*")
    # later changes update the new post in place
    app.helpdesk.note(v.reference, "looking", actor="alice")
    await sender.send_due()
    assert fake.called("chat.update")[-1].params["ts"] == again[1]
    assert fake.called("chat.postMessage")[-1].params["thread_ts"] == again[1]


async def test_a_thread_line_for_a_deleted_post_posts_it_again_once(
        setup: tuple[App, FakeSlack, SlackSender], clock: ManualClock) -> None:
    app, fake, sender = setup
    v = app.helpdesk.register(subject="Checkout down", client="acme")
    await sender.send_due()
    first = triage_thread(app, v.ticket.id)
    assert first is not None
    fake.deleted.add(first)
    fake.fail["chat.update"] = ["internal_error"]  # the update waits for its retry
    app.helpdesk.assign(v.reference, "alice", actor="alice")
    await sender.send_due()
    again = triage_thread(app, v.ticket.id)
    assert again is not None and again != first
    line = fake.called("chat.postMessage")[-1].params
    assert line["thread_ts"] == again[1] and line["text"].startswith("*assigned*")
    clock.advance(timedelta(seconds=5))
    await sender.send_due()
    assert fake.called("chat.update")[-1].params["ts"] == again[1]
    assert [s for _, s, _ in jobs(app)] == ["sent"] * 3

    # when the post cannot be made again either (the channel is gone), each job fails after
    # one try to post it again: the update (1 post), the line (its reply, then 1 post)
    fake.deleted.add(again)
    fake.fail["chat.postMessage"] = ["channel_not_found"] * 3
    app.helpdesk.note(v.reference, "looking", actor="alice")
    before = len(fake.called("chat.postMessage"))
    await sender.send_due()
    assert len(fake.called("chat.postMessage")) - before == 3
    assert fake.fail["chat.postMessage"] == []
    assert [(k, a) for k, s, a in jobs(app) if s == "failed"] == [("triage", 1), ("thread", 1)]
    assert triage_thread(app, v.ticket.id) == again


async def test_an_alert_for_a_deleted_triage_post_posts_it_again_and_goes_in_its_thread(
        setup: tuple[App, FakeSlack, SlackSender], clock: ManualClock) -> None:
    app, fake, sender = setup
    v = app.helpdesk.register(subject="Checkout down", client="acme")
    await sender.send_due()
    first = triage_thread(app, v.ticket.id)
    assert first is not None and v.ticket.id is not None
    fake.deleted.add(first)
    sink = SlackAlertSink(app.uow, clock)
    sink.deliver(Alert(key="k", ticket_id=v.ticket.id, reference=v.reference, client="acme",
                       priority=v.ticket.priority, kind="reminder", text="response due soon",
                       at=clock.now(), targets=("triage",)))
    await sender.send_due()
    tried, again, line = fake.called("chat.postMessage")[-3:]
    assert tried.params["thread_ts"] == first[1]
    assert again.params["channel"] == TRIAGE and again.params.get("thread_ts") is None
    second = triage_thread(app, v.ticket.id)
    assert second is not None and second != first
    assert line.params["thread_ts"] == second[1] and "response due soon" in line.params["text"]


async def test_an_alert_for_a_ticket_without_a_triage_post_goes_to_the_channel_and_waits_out_slack(
        setup: tuple[App, FakeSlack, SlackSender], clock: ManualClock) -> None:
    """Slack down when the alert comes: it waits in the outbox and goes out once Slack is back."""
    app, fake, sender = setup
    sink = SlackAlertSink(app.uow, clock, TRIAGE)
    sink.deliver(Alert(key="k3", ticket_id=0, reference="T-1999", client="",
                       priority=Priority.P1,
                       kind="page", text="nobody took it", at=clock.now(), targets=("triage",)))
    fake.fail["chat.postMessage"] = ["ratelimited"]
    await sender.send_due()
    assert fake.called("chat.postMessage")[-1].params.get("thread_ts") is None
    assert [j[1] for j in jobs(app)] == ["pending"]
    clock.advance(timedelta(minutes=10))
    await sender.send_due()
    [*_, posted] = fake.called("chat.postMessage")
    assert posted.params["channel"] == TRIAGE and "nobody took it" in posted.params["text"]
    assert [j[1] for j in jobs(app)] == ["sent"]
