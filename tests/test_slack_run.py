"""Slack through a real ``supportbot run`` process: ``[web]`` on a free port and ``[slack]``
pointed at the loopback fake. A signed event becomes a ticket with its triage post; a staff
action taken from another process (the CLI) updates that post in place; a restart keeps the
ticket single when Slack retries the event."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from adapters.storage import Database
from tests.metrics_text import Samples, scrape, value
from tests.procs import BotProcess, cli_json, free_port, storage_toml
from tests.slack_fake import SECRET, WAIT, event_body, serve_fake, signed
from tests.test_slack import CLIENT, SUPPORT, TRIAGE


def test_supportbot_run_serves_slack_and_the_web_app(tmp_path: Path, database: Database) -> None:
    fake, server = serve_fake()
    port = free_port()
    config = tmp_path / "supportbot.toml"
    config.write_text(storage_toml(database) + f"""
[smtp]
enabled = false

[scheduler]
enabled = false

[web]
enabled = true
port = {port}

[slack]
enabled = true
bot_token = "xoxb-test"
signing_secret = "{SECRET}"
api_base_url = "{fake.base_url}"

[[clients]]
name = "acme"
policy = "panenco"
slack_channels = ["{SUPPORT}"]
triage_channel = "{TRIAGE}"

[[staff]]
name = "alice"
slack_user = "UALICE"
""", encoding="utf-8")
    bot = BotProcess(config, "slackbot")
    url = f"http://127.0.0.1:{port}"
    body = event_body({"type": "message", "channel": SUPPORT, "user": CLIENT, "ts": "1.000100",
                       "text": "Checkout down for all users, no workaround"}, "EvRun1")
    try:
        bot.start(wait=False)
        bot.wait_for(r"web app listening")
        assert httpx.get(url + "/healthz", timeout=10).json()["ok"] is True
        assert httpx.post(url + "/slack/events", content=body.encode(), headers=signed(body),
                          timeout=10).status_code == 200
        post = fake.wait_for("chat.postMessage", channel=TRIAGE)[0]
        [ticket] = cli_json(config, "tickets", "list")
        assert ticket["reference"] in post.params["text"]
        assert ticket["channel"] == "slack" and ticket["client"] == "acme"

        # a staff action in another process: the running bot updates the post in place
        cli_json(config, "tickets", "resolve", ticket["reference"], "--actor", "alice")
        update = fake.wait_for("chat.update", channel=TRIAGE)[0]
        assert "resolved" in json.dumps(update.params["blocks"])

        # restarted, Slack retries the same event: still one ticket
        bot.stop()
        bot.start(wait=False)
        bot.wait_for(r"web app listening")
        retry = signed(body) | {"X-Slack-Retry-Num": "1"}
        assert httpx.post(url + "/slack/events", content=body.encode(), headers=retry,
                          timeout=10).status_code == 200
        metrics: Samples = {}
        deadline = time.monotonic() + WAIT
        while value(metrics, "supportbot_slack_events", state="done") != 1:
            assert time.monotonic() < deadline, metrics
            metrics = scrape(url)
        assert len(cli_json(config, "tickets", "list")) == 1
        assert bot.stop() == 0
        assert "Traceback" not in bot.all_logs()
    finally:
        bot.close()
        server.shutdown()
