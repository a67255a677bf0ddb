"""Slack over HTTP, end to end inside one process: the real web app on uvicorn (a free port),
the real bolt app and ``slack_sdk`` clients pointed at a fake Slack Web API on loopback, and
requests signed with Slack's real algorithm sent over HTTP with httpx."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from pydantic import SecretStr

from adapters.bootstrap import App, bootstrap
from adapters.slack.component import SlackComponent
from adapters.slack.format import escape, event_line, triage_blocks
from adapters.storage import Database, SqlUnitOfWork
from adapters.storage.inbox import InboxItem, InboxStore
from adapters.web.app import create_app
from adapters.web.component import Health
from bot.model import Event, EventKind
from config.settings import Settings
from tests.metrics_text import scrape, value
from tests.procs import free_port
from tests.slack_fake import (
    BOT_ID,
    BOT_USER,
    SECRET,
    WAIT,
    FakeSlack,
    action_body,
    event_body,
    form_body,
    serve_fake,
    signed,
)

SUPPORT, TRIAGE, OTHER = "CSUPPORT", "CTRIAGE", "COTHER"
ALICE, CLIENT = "UALICE", "UCLIENT"


@dataclass
class Running:
    app: App
    fake: FakeSlack
    url: str
    component: SlackComponent

    def post(self, path: str, body: str, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(self.url + path, content=body.encode(), headers=headers, timeout=10)

    def event(self, event: dict[str, Any], event_id: str,
              retry: int | None = None) -> httpx.Response:
        body = event_body(event, event_id)
        headers = signed(body)
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post("/slack/events", body, headers)

    def command(self, user: str, text: str, channel: str = TRIAGE) -> httpx.Response:
        body = form_body({"command": "/ticket", "text": text, "user_id": user,
                          "channel_id": channel, "team_id": "T0001", "token": "x",
                          "trigger_id": "1.2.3", "response_url": "http://127.0.0.1:9/unused"})
        return self.post("/slack/commands", body,
                         signed(body, content_type="application/x-www-form-urlencoded"))

    def action(self, user: str, action: dict[str, Any]) -> httpx.Response:
        body = action_body(user, TRIAGE, action)
        return self.post("/slack/interactivity", body,
                         signed(body, content_type="application/x-www-form-urlencoded"))

    def wait_processed(self, count: int) -> list[InboxItem]:
        deadline = time.monotonic() + WAIT
        while True:
            with SqlUnitOfWork(self.app.db, write=False) as uow:
                rows = _events(uow)
            if sum(r.state != "pending" for r in rows) >= count:
                return rows
            if time.monotonic() > deadline:
                pytest.fail(f"{count} slack events not processed: {rows}")
            time.sleep(0.02)


def _events(uow: SqlUnitOfWork) -> list[InboxItem]:
    return InboxStore(uow.session).items("slack")


def settings_for(database: Database, fake: FakeSlack, **web: Any) -> Settings:
    storage: dict[str, Any] = {"url": database.url.render_as_string(hide_password=False)}
    if database.schema:
        storage["schema"] = database.schema
    return Settings.model_validate({
        "storage": storage,
        "web": {"enabled": True, **web},
        "slack": {"enabled": True, "bot_token": "xoxb-test", "signing_secret": SECRET,
                  "api_base_url": fake.base_url},
        "clients": [{"name": "acme", "policy": "panenco", "email_domains": ["acme.example"],
                     "slack_channels": [SUPPORT], "triage_channel": TRIAGE}],
        "staff": [{"name": "alice", "email": "alice@provider.example", "slack_user": ALICE}],
    })


class Down:
    """A web component that reports itself down (a peer of Slack on the same app)."""

    name = "twilio-like"

    def routes(self) -> list[Any]:
        return []

    def health(self) -> Health:
        return Health(False, "not connected")

    def metrics(self) -> list[Metric]:
        return [GaugeMetricFamily("supportbot_twilio_like_up", "Up.", value=0)]

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


def serve(app: App, components: list[Any]) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(components, app.db, app.helpdesk),
                                           host="127.0.0.1", port=port, log_config=None,
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started:
        assert thread.is_alive(), "the web app did not start"
        assert time.monotonic() < deadline, "the web app did not start in time"
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def running(database: Database) -> Iterator[Running]:
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


def report(ts: str = "1790000100.000100", text: str = "Checkout down\nAll users get errors "
           "since 9:00, no workaround. <!channel>", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel": SUPPORT, "user": CLIENT, "text": text, "ts": ts,
            "channel_type": "channel", **extra}


def test_a_support_channel_message_is_stored_before_200_and_a_retry_registers_one_ticket(
        running: Running) -> None:
    first = running.event(report(), "Ev001")
    again = running.event(report(), "Ev001", retry=1)
    assert first.status_code == again.status_code == 200
    rows = running.wait_processed(1)
    assert [r.key for r in rows] == ["Ev001"]
    assert rows[0].state == "done"
    views = running.app.helpdesk.list()
    assert len(views) == 1
    t = views[0].ticket
    assert (t.channel, t.client_name, t.subject, t.requester) == \
        ("slack", "acme", "Checkout down", f"slack:{CLIENT}")
    assert t.priority == "P1"  # classified like mail: all users, no workaround
    # the triage post in the client's triage channel, with the buttons
    post = running.fake.wait_for("chat.postMessage", channel=TRIAGE)[0]
    assert t.reference in post.params["text"]
    actions = next(b for b in post.params["blocks"] if b["type"] == "actions")
    assert {e["action_id"] for e in actions["elements"]} >= {
        "ticket_take", "ticket_priority", "ticket_confirm_cause", "ticket_resolve"}
    shown = json.dumps(post.params["blocks"])
    # Slack's <!channel> is stored as the readable "@channel", which posts as plain text
    assert "<!channel>" not in shown and "@channel" in shown
    assert "P1 phone follow-up: pending" in shown
    # linked back in the reporter's thread
    link = running.fake.wait_for("chat.postMessage", channel=SUPPORT)[0]
    assert link.params["thread_ts"] == "1790000100.000100"
    assert t.reference in link.params["text"]
    assert len(running.app.helpdesk.list()) == 1


def test_bad_signature_or_old_timestamp_is_refused_and_nothing_is_stored(
        running: Running) -> None:
    body = event_body(report(), "Ev002")
    wrong = running.post("/slack/events", body, signed(body, secret="not-the-secret"))
    old = running.post("/slack/events", body, signed(body, timestamp=int(time.time()) - 600))
    unsigned = running.post("/slack/events", body, {"Content-Type": "application/json"})
    assert wrong.status_code == old.status_code == unsigned.status_code == 401
    with SqlUnitOfWork(running.app.db, write=False) as uow:
        assert _events(uow) == []
    assert running.app.helpdesk.list() == []


def test_thread_replies_follow_up_own_messages_and_empty_edits_are_ignored(
        running: Running) -> None:
    running.event(report(), "Ev010")
    running.wait_processed(1)
    ref = running.app.helpdesk.list()[0].reference
    running.event({"type": "message", "channel": SUPPORT, "user": CLIENT,
                   "text": "Also the invoices page", "ts": "1790000100.000200",
                   "thread_ts": "1790000100.000100"}, "Ev011")
    running.event({"type": "message", "channel": SUPPORT, "user": BOT_USER, "bot_id": BOT_ID,
                   "text": "Thanks, registered", "ts": "1790000100.000300",
                   "thread_ts": "1790000100.000100"}, "Ev012")
    running.event({"type": "message", "subtype": "message_changed", "channel": SUPPORT,
                   "ts": "1790000100.000400",
                   "message": {"user": CLIENT, "text": "Checkout down", "ts": "1790000100.000100"},
                   "previous_message": {"user": CLIENT, "text": "Checkout down",
                                        "ts": "1790000100.000100"}}, "Ev013")
    running.event({"type": "message", "channel": OTHER, "user": CLIENT, "text": "lunch?",
                   "ts": "1790000100.000500"}, "Ev014")
    rows = running.wait_processed(4)  # the bot's own message is dropped by bolt, unstored
    states = {r.key: (r.state, r.reason) for r in rows}
    assert states["Ev011"][0] == "done"
    assert states["Ev013"] == ("ignored", "an edit that changes nothing")
    assert states["Ev014"] == ("ignored", "not a support channel")
    assert "Ev012" not in states or states["Ev012"][0] == "ignored"
    t = running.app.helpdesk.show(ref).ticket
    received = [e for e in t.events if e.kind == EventKind.MESSAGE_RECEIVED]
    assert [e.data["text"] for e in received] == ["Also the invoices page"]
    assert len(running.app.helpdesk.list()) == 1
    # the follow-up shows in the triage thread, generically formatted
    triage_ts = running.fake.wait_for("chat.postMessage", channel=TRIAGE)[0]
    line = running.fake.wait_for("chat.postMessage", channel=TRIAGE, count=2)[1]
    assert line.params.get("thread_ts") is not None
    assert "message received" in line.params["text"]
    assert "Also the invoices page" in line.params["text"]
    assert triage_ts.params.get("thread_ts") is None


def test_buttons_and_ticket_command_act_as_the_mapped_staff_member(running: Running) -> None:
    running.event(report(), "Ev020")
    running.wait_processed(1)
    ref = running.app.helpdesk.list()[0].reference
    post = running.fake.wait_for("chat.postMessage", channel=TRIAGE)[0]
    assert running.action(ALICE, {"action_id": "ticket_take", "value": ref,
                                  "type": "button"}).status_code == 200
    deadline = time.monotonic() + WAIT
    while running.app.helpdesk.show(ref).ticket.assignee != "alice":
        assert time.monotonic() < deadline, "the take button did nothing"
        time.sleep(0.02)
    t = running.app.helpdesk.show(ref).ticket
    assigned = next(e for e in t.events if e.kind == EventKind.ASSIGNED)
    assert assigned.actor == f"alice (slack:{ALICE})"
    # the triage post is updated in place
    update = running.fake.wait_for("chat.update")[0]
    assert update.params["channel"] == TRIAGE
    assert "assigned to alice" in json.dumps(update.params["blocks"])
    assert post.params["channel"] == TRIAGE

    # someone who is not staff gets an ephemeral error and changes nothing
    running.action("USTRANGER", {"action_id": "ticket_resolve", "value": ref, "type": "button"})
    eph = running.fake.wait_for("chat.postEphemeral", user="USTRANGER")[0]
    assert "not a staff member" in eph.params["text"]
    assert running.app.helpdesk.show(ref).ticket.status != "resolved"

    # /ticket reply goes into the client's thread and stops the response clock
    # (as Slack sends it: entities, and <!here> for a typed @here)
    r = running.command(ALICE, f"reply {ref} Fixed the &lt;b&gt; &amp; <!here> config")
    assert r.status_code == 200
    assert r.json()["response_type"] == "ephemeral"
    assert "reply sent" in r.json()["text"]
    reply = running.fake.wait_for("chat.postMessage", channel=SUPPORT, count=2)[1]
    assert reply.params["thread_ts"] == "1790000100.000100"
    assert reply.params["text"] == "Fixed the &lt;b&gt; &amp; @here config"
    view = running.app.helpdesk.show(ref)
    assert view.clocks["response"].stopped_at is not None
    [responded] = [e for e in view.ticket.events if e.kind == EventKind.RESPONDED]
    assert responded.data["message"] == "Fixed the <b> & @here config"  # stored as typed

    # errors answer ephemerally with what was wrong
    bad = running.command(ALICE, "resolve T-9999").json()
    assert bad["response_type"] == "ephemeral" and "no ticket T-9999" in bad["text"]
    assert "/ticket list" in running.command(ALICE, "help").json()["text"]
    hours = running.command(ALICE, f"hours {ref} 1.5").json()["text"]
    assert "1.5 h logged" in hours
    assert running.app.helpdesk.show(ref).ticket.time_logged_hours() == 1.5
    assert ref in running.command(ALICE, "list mine").json()["text"]


def test_a_ticket_reaction_turns_any_message_into_a_ticket_linked_in_its_thread(
        running: Running) -> None:
    running.fake.messages[(OTHER, "1790000200.000100")] = {
        "type": "message", "user": "UBOB", "ts": "1790000200.000100",
        "text": "The export button crashes for everyone"}
    reaction = {"type": "reaction_added", "user": ALICE, "reaction": "ticket",
                "item": {"type": "message", "channel": OTHER, "ts": "1790000200.000100"},
                "event_ts": "1790000200.000200"}
    running.event(reaction, "Ev030")
    running.event({**reaction, "event_ts": "1790000200.000300"}, "Ev031")  # a second person
    running.event({**reaction, "reaction": "eyes"}, "Ev032")
    rows = running.wait_processed(3)
    assert [r.state for r in rows] == ["done", "ignored", "ignored"]
    [v] = running.app.helpdesk.list()
    assert v.ticket.subject == "The export button crashes for everyone"
    assert v.ticket.client_name == ""  # not a client's channel: the unassigned queue
    link = running.fake.wait_for("chat.postMessage", channel=OTHER)[0]
    assert link.params["thread_ts"] == "1790000200.000100"
    assert v.reference in link.params["text"]


def test_healthz_and_metrics(running: Running) -> None:
    running.event(report(), "Ev040")
    running.wait_processed(1)
    h = httpx.get(running.url + "/healthz", timeout=10)
    assert h.status_code == 200
    assert h.json()["checks"]["storage"]["ok"] and h.json()["checks"]["slack"]["ok"]
    m = scrape(running.url)
    assert value(m, "supportbot_slack_events", state="done") == 1
    assert ("supportbot_inbound_messages", frozenset({("state", "pending")})) in m
    assert value(m, "supportbot_inbound_messages", state="pending") == 0
    assert value(m, "supportbot_clocks", clock="response", status="running") == 1
    assert value(m, "supportbot_open_tickets") == 1


def test_healthz_is_503_when_a_component_is_down(database: Database) -> None:
    fake, fake_server = serve_fake()
    app = bootstrap(settings_for(database, fake), upgrade=False)
    server, thread, url = serve(app, [Down()])
    try:
        h = httpx.get(url + "/healthz", timeout=10)
        assert h.status_code == 503
        assert h.json()["checks"]["twilio-like"] == {"ok": False, "status": "down",
                                                    "detail": "not connected"}
        assert ("supportbot_twilio_like_up", frozenset()) in scrape(url)
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        fake_server.shutdown()
        app.close()


def test_client_text_cannot_ping_or_forge_mentions() -> None:
    assert escape("<!channel> hi <@U123> <https://evil.example|your bank> & co") == \
        "&lt;!channel&gt; hi &lt;@U123&gt; &lt;https://evil.example|your bank&gt; &amp; co"
    from datetime import UTC, datetime

    e = Event(EventKind("note"), datetime(2026, 1, 1, tzinfo=UTC), "<@U1>", {"text": "<!here>"})
    line = event_line(e)
    assert line is not None and "<" not in line


def test_triage_blocks_for_a_resolved_ticket_offer_reopen_only(helpdesk: Any) -> None:
    v = helpdesk.register(subject="Login broken <!channel>", body="x", client="acme")
    helpdesk.resolve(v.reference, actor="alice")
    blocks = triage_blocks(helpdesk.show(v.reference))
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == ["ticket_reopen"]
    assert "<!channel>" not in json.dumps(blocks)


def test_socket_mode_takes_events_from_the_websocket_and_acks_them(database: Database) -> None:
    from tests.slack_fake import FakeSocketMode

    fake, fake_server = serve_fake()
    socket = FakeSocketMode()
    fake.ws_url = socket.url
    settings = settings_for(database, fake)
    settings = settings.model_copy(update={"slack": settings.slack.model_copy(update={
        "mode": "socket", "app_token": SecretStr("xapp-test")})})
    app = bootstrap(settings, upgrade=False)
    component = SlackComponent(app, sender_interval=0.1)
    assert component.routes() == []  # nothing on the web app: no public URL needed
    server, thread, url = serve(app, [component])
    try:
        opened = fake.wait_for("apps.connections.open")[0]
        assert opened.token == "xapp-test"
        socket.send_event(event_body(report(), "EvSock1"), "env-1")
        socket.wait_ack("env-1")
        socket.send_event(event_body(report(), "EvSock1"), "env-2")  # redelivered
        socket.wait_ack("env-2")
        fake.wait_for("chat.postMessage", channel=TRIAGE)
        assert len(app.helpdesk.list()) == 1
        assert httpx.get(url + "/healthz", timeout=10).json()["checks"]["slack"]["ok"]
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        fake_server.shutdown()
        app.close()
