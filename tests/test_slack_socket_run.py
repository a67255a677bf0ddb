"""Socket Mode through a real ``supportbot run`` when Slack cannot be reached at start (the
Web API's port refuses connections) or refuses the app token: everything else starts (the SMTP
intake, the web app, the scheduler), the websocket is retried with backoff in the background
and reported on ``/healthz``, and SIGTERM stops the bot within a few seconds."""

from __future__ import annotations

import smtplib
import time
from pathlib import Path

import httpx
import pytest

from adapters.storage import Database
from tests.procs import BotProcess, free_port, storage_toml
from tests.slack_fake import serve_fake
from tests.webserve import wait_for


def config_for(tmp_path: Path, database: Database, api: str, smtp: int, web: int) -> Path:
    config = tmp_path / "supportbot.toml"
    config.write_text(storage_toml(database) + f"""
[smtp]
port = {smtp}

[web]
enabled = true
port = {web}

[slack]
enabled = true
mode = "socket"
bot_token = "xoxb-test"
app_token = "xapp-revoked"
api_base_url = "{api}"
""", encoding="utf-8")
    return config


@pytest.mark.parametrize("slack", ["refusing", "revoked"])
def test_slack_down_at_start_does_not_hold_the_bot_up(tmp_path: Path, database: Database,
                                                      slack: str) -> None:
    fake, fake_server = serve_fake()
    if slack == "revoked":
        fake.fail["apps.connections.open"] = ["invalid_auth"] * 1000
        fake.fail["auth.test"] = ["invalid_auth"] * 1000
        api, reason = fake.base_url, "Slack refused apps.connections.open: invalid_auth"
    else:
        api, reason = f"http://127.0.0.1:{free_port()}/api/", "cannot reach Slack"
    smtp, web = free_port(), free_port()
    bot = BotProcess(config_for(tmp_path, database, api, smtp, web), f"socket-{slack}")
    try:
        bot.start()  # "supportbot running": the scheduler started after the web app
        assert "scheduler=True" in bot.log()
        with smtplib.SMTP("127.0.0.1", smtp, timeout=10) as s:
            assert s.noop()[0] == 250
        url = f"http://127.0.0.1:{web}/healthz"
        seen: list[httpx.Response] = []

        def retried() -> bool:
            seen.append(httpx.get(url, timeout=10))
            return "(attempt 2" in seen[-1].json()["checks"]["slack"]["detail"]

        wait_for(retried, "a second connection attempt reported on /healthz")
        h = seen[-1]
        assert h.status_code == 503 and h.json()["checks"]["slack"]["status"] == "down"
        detail = h.json()["checks"]["slack"]["detail"]
        assert f"socket mode not connected: {reason}" in detail, detail
        assert h.json()["checks"]["storage"]["ok"]
        bot.wait_for(r"slack socket mode not connected.*attempt=2")  # backoff: 1 s, then 2 s

        started = time.monotonic()
        assert bot.stop() == 0
        took = time.monotonic() - started
        print(f"SIGTERM to exit ({slack}): {took:.2f}s")
        assert took < 5, f"SIGTERM took {took:.1f}s"
        assert "supportbot stopped" in bot.log() and "Traceback" not in bot.all_logs()
    finally:
        bot.close()
        fake_server.shutdown()
