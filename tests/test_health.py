"""``/healthz`` tells the truth: real HTTP to the bot's web app, with the loopback Slack and
Twilio fakes stopped (connections refused), answering errors, or the Socket Mode websocket
closed. A component that cannot do its job now is down (503) with the reason; one that failed
since its last success is degraded (200); when the vendor is back, it is ok again."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from adapters.bootstrap import bootstrap
from adapters.slack.component import SlackComponent
from adapters.storage import Database
from adapters.twilio.setup import twilio_component
from adapters.web.reach import Reachability
from bot.clock import ManualClock
from bot.priority import Priority
from tests.fake_twilio import FakeTwilio
from tests.procs import free_port
from tests.slack_fake import WAIT, FakeSocketMode, serve_fake
from tests.test_slack import serve, settings_for
from tests.test_twilio import settings_for as twilio_settings
from tests.webserve import serve as serve_routes
from tests.webserve import wait_for


def healthz(url: str) -> httpx.Response:
    return httpx.get(url + "/healthz", timeout=10)


def check(url: str, name: str) -> dict[str, Any]:
    return healthz(url).json()["checks"][name]  # type: ignore[no-any-return]


def until(url: str, name: str, status: str) -> dict[str, Any]:
    """Poll ``/healthz`` until check ``name`` has ``status``; returns that check."""
    seen: list[dict[str, Any]] = []

    def reached() -> bool:
        seen.append(check(url, name))
        return seen[-1]["status"] == status

    wait_for(reached, f"{name} {status} (last: {seen[-1:] or '-'})", timeout=WAIT)
    return seen[-1]


def test_reachability_is_degraded_after_a_failure_and_down_after_three_in_a_row() -> None:
    now = [0.0]
    r = Reachability("Slack Web API", monotonic=lambda: now[0])
    assert r.health().status == "degraded" and "not called yet" in r.health().detail
    r.succeeded()
    assert r.health().status == "ok"
    r.failed("slack: service_unavailable")
    assert (r.health().status, r.health().ok) == ("degraded", True)
    r.failed("cannot reach the Slack Web API (ClientConnectorError)")
    r.failed("cannot reach the Slack Web API (ClientConnectorError)")
    assert r.health().status == "down"
    assert r.health().detail == ("Slack Web API: cannot reach the Slack Web API "
                                 "(ClientConnectorError) (3 failed calls in a row)")
    now[0] = 7.5
    assert r.quiet_for() == 7.5
    r.succeeded()
    assert r.health().status == "ok"


def test_slack_web_api_unreachable_is_503_and_ok_again_when_it_is_back(database: Database) -> None:
    port = free_port()
    fake, fake_server = serve_fake(port)
    app = bootstrap(settings_for(database, fake), upgrade=False)
    component = SlackComponent(app, sender_interval=0.1, probe_seconds=0.2)
    server, thread, url = serve(app, [component])
    try:
        until(url, "slack", "ok")
        fake_server.shutdown()
        fake_server.server_close()  # connections to the Slack API are refused from now on
        down = until(url, "slack", "down")
        assert "cannot reach the Slack Web API" in down["detail"]
        assert "failed calls in a row" in down["detail"]
        h = healthz(url)
        assert h.status_code == 503 and h.json()["ok"] is False
        assert h.json()["status"] == "down" and h.json()["checks"]["storage"]["ok"]

        fake, fake_server = serve_fake(port)  # Slack is back
        assert until(url, "slack", "ok")["detail"] == "http mode; Slack Web API: reachable"
        assert healthz(url).status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        fake_server.shutdown()
        fake_server.server_close()
        app.close()


def test_failed_deliveries_make_slack_degraded_then_down(database: Database) -> None:
    """No probe here (once an hour): the triage posts that fail are what tells."""
    port = free_port()
    fake, fake_server = serve_fake(port)
    app = bootstrap(settings_for(database, fake), upgrade=False)
    component = SlackComponent(app, sender_interval=0.1, probe_seconds=3600)
    server, thread, url = serve(app, [component])
    try:
        until(url, "slack", "ok")  # the probe at start
        fake.fail["chat.postMessage"] = ["service_unavailable"] * 100

        def register(n: int) -> None:
            app.helpdesk.register(subject=f"Checkout down {n}", body="nobody can pay",
                                  client="acme", priority=Priority.P2, actor="alice",
                                  reason="test")

        register(1)
        wait_for(lambda: component.sender.reach.failures >= 1, "a failed triage post")
        degraded = healthz(url)
        assert degraded.status_code == 200 and degraded.json()["status"] == "degraded"
        assert degraded.json()["checks"]["slack"]["status"] == "degraded"
        assert "slack: service_unavailable (1 failed call in a row)" in \
            degraded.json()["checks"]["slack"]["detail"]
        register(2)
        register(3)
        down = until(url, "slack", "down")
        assert "slack: service_unavailable" in down["detail"]
        assert healthz(url).status_code == 503
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        fake_server.shutdown()
        fake_server.server_close()
        app.close()


def test_socket_mode_websocket_gone_is_503(database: Database) -> None:
    fake, fake_server = serve_fake()
    socket = FakeSocketMode()
    fake.ws_url = socket.url
    settings = settings_for(database, fake)
    settings = settings.model_copy(update={"slack": settings.slack.model_copy(update={
        "mode": "socket", "app_token": SecretStr("xapp-test")})})
    app = bootstrap(settings, upgrade=False)
    component = SlackComponent(app, sender_interval=0.1, socket_grace=0.0)
    server, thread, url = serve(app, [component])
    try:
        assert "socket mode connected" in until(url, "slack", "ok")["detail"]
        assert component.socket is not None and component.socket.connected
        socket.stop()  # the websocket is closed and reconnecting is refused
        down = until(url, "slack", "down")
        assert "socket mode websocket lost" in down["detail"], down
        assert healthz(url).status_code == 503
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        fake_server.shutdown()
        app.close()


def test_twilio_api_refusing_connections_is_503_and_ok_again_when_it_is_back(
        database: Database, clock: ManualClock) -> None:
    api_port, web_port = free_port(), free_port()
    api = f"http://127.0.0.1:{api_port}"  # nothing listens there yet: connections refused
    settings = twilio_settings(database, f"http://127.0.0.1:{web_port}", api)
    app = bootstrap(settings, clock=clock)
    assert app.phone is not None
    component = twilio_component(settings, app.phone, app.uow, probe_seconds=0.2)
    server, thread, url = serve(app, [component])
    try:
        down = until(url, "twilio", "down")
        assert "Twilio API: cannot reach the Twilio API" in down["detail"], down
        assert healthz(url).status_code == 503
        fake = FakeTwilio()
        with serve_routes(fake.routes(), port=api_port):
            assert until(url, "twilio", "ok")["detail"].endswith("Twilio API: reachable")
            assert healthz(url).status_code == 200
            fake.auth_token = "rotated"  # the bot's token is refused now
            refused = until(url, "twilio", "down")
            assert "HTTP 401" in refused["detail"], refused
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        app.close()
