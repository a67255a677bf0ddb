"""Joint tracking through a real ``supportbot run``: a client's mail to the SMTP intake
becomes a ticket and an issue in the client's Jira (the loopback fake, called by the real
``jira`` library); the issue moved to Done in Jira comes back as a signed webhook to the
running web app, resolves the ticket, and the client is mailed the resolution through the
relay; nothing echoes back to Jira."""

from __future__ import annotations

import json
import smtplib
from pathlib import Path

import httpx
import pytest

from adapters.storage import Database
from tests.fake_jira import FakeJira, jira_signature
from tests.mailpeers import LoopThread, Sink
from tests.procs import BotProcess, cli_json, free_port, storage_toml
from tests.webserve import wait_for

HOOK_SECRET = "jira-hook-secret-7"
TOKEN = "jira-pat-run"


def write_config(tmp_path: Path, database: Database, *, smtp: int, web: int, relay: int,
                 jira: str) -> Path:
    config = tmp_path / "supportbot.toml"
    config.write_text(storage_toml(database) + f"""
[smtp]
port = {smtp}

[mail]
support_addresses = ["support@provider.example"]

[relay]
host = "127.0.0.1"
port = {relay}
poll_seconds = 0.2

[scheduler]
enabled = false

[web]
enabled = true
port = {web}
public_url = "http://127.0.0.1:{web}"

[dashboard]
enabled = true
session_secret = "{'s' * 32}"
secure_cookies = false

[[clients]]
name = "acme"
policy = "demo247"
email_domains = ["acme.example"]

[clients.tracker]
kind = "jira"
url = "{jira}"
token_env = "ACME_JIRA_TOKEN"
project = "SUP"
webhook_secret_env = "ACME_JIRA_HOOK"
""", encoding="utf-8")
    return config


def test_mail_in_issue_in_jira_done_in_jira_resolves_and_mails_the_client(
        tmp_path: Path, database: Database, loop: LoopThread,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_JIRA_TOKEN", TOKEN)  # secrets from the environment, as deployed
    monkeypatch.setenv("ACME_JIRA_HOOK", HOOK_SECRET)
    jira = FakeJira(token=TOKEN)
    jira.start()
    relay = Sink(loop)
    smtp, web = free_port(), free_port()
    public = f"http://127.0.0.1:{web}"
    config = write_config(tmp_path, database, smtp=smtp, web=web, relay=relay.port,
                          jira=jira.base)
    bot = BotProcess(config, "trackerbot")
    try:
        bot.start(wait=False)
        bot.wait_for(r"web app listening")
        bot.wait_for(r"SMTP intake listening")
        with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as c:
            c.sendmail("jo@acme.example", ["support@provider.example"],
                       b"From: jo@acme.example\r\nTo: support@provider.example\r\n"
                       b"Subject: Exports fail for every user\r\n"
                       b"Message-ID: <tracker-run@acme.example>\r\n\r\n"
                       b"The CSV export gives a 500 since this morning.\r\n")
        issues = jira.wait(lambda: jira.by_label("T-1001"), "the issue in Jira")
        [issue] = issues
        key = issue["key"]
        assert issue["fields"]["summary"] == "[T-1001] Exports fail for every user"
        assert "jo@acme.example" in issue["fields"]["description"]
        assert f"{public}/staff/tickets/T-1001" in issue["fields"]["description"]
        wait_for(lambda: any("T-1001" in str(m["Subject"]) for m in relay.handler.messages()),
                 "the acknowledgement")
        shown = cli_json(config, "tickets", "show", "T-1001")
        assert shown["tracker"]["key"] == key

        # someone moves the issue to Done in Jira: the webhook, signed with the secret
        jira.issues[key]["fields"]["status"] = {"name": "Done"}
        body = jira.webhook("jira:issue_updated", key, user="Alice Jira",
                            changes=[{"field": "status", "toString": "Done"}])
        forged = httpx.post(f"{public}/trackers/jira/acme", content=body, timeout=10,
                            headers={"X-Hub-Signature": "sha256=00"})
        assert forged.status_code == 401
        r = httpx.post(f"{public}/trackers/jira/acme", content=body, timeout=10,
                       headers={"X-Hub-Signature": jira_signature(HOOK_SECRET, body),
                                "Content-Type": "application/json"})
        assert r.status_code == 200

        def resolution() -> list[str]:
            return [m.get_body(("plain",)).get_content() for m in relay.handler.messages()
                    if "jo@acme.example" in str(m["To"])
                    and "resolved" in m.get_body(("plain",)).get_content()]

        wait_for(resolution, "the resolution mailed to the client")
        assert "We consider T-1001 resolved." in resolution()[0]
        t = cli_json(config, "tickets", "show", "T-1001")
        assert t["status"] == "resolved"
        resolved = [e for e in t["events"] if e["kind"] == "resolved"]
        assert [e["actor"] for e in resolved] == ["jira:Alice Jira"]
        again = httpx.post(f"{public}/trackers/jira/acme", content=body, timeout=10,
                           headers={"X-Hub-Signature": jira_signature(HOOK_SECRET, body)})
        assert again.status_code == 200  # Jira's retry: stored once, changes nothing
        health = httpx.get(f"{public}/healthz", timeout=10).json()
        assert health["checks"]["trackers"]["status"] == "ok", health
        assert jira.called("POST", r"/rest/api/2/issue/[^/]+/transitions") == 0  # no echo
        assert jira.called("POST", r"/rest/api/2/issue") == 1
        assert bot.stop() == 0
        log = bot.all_logs()
        assert "Traceback" not in log and TOKEN not in log and HOOK_SECRET not in log
        t = cli_json(config, "tickets", "show", "T-1001")
        assert len([e for e in t["events"] if e["kind"] == "resolved"]) == 1
        assert json.dumps(t).count(key) >= 1
    finally:
        bot.close()
        relay.close()
        jira.stop()
