"""The client pages inside ``supportbot run``, a real process: the acknowledgement relayed to a
real SMTP sink carries the status link, the page is served on the web app, and its form is
stored and threaded by the running mail stack; ``/healthz`` names the component."""

from __future__ import annotations

import re
import smtplib
import time
from pathlib import Path

import httpx

from adapters.storage import Database
from tests.clientweb import SECRET, links_in
from tests.mailpeers import LoopThread, Sink
from tests.procs import WAIT, BotProcess, free_port, storage_toml


def test_the_running_bot_links_serves_and_threads_the_status_page(
        tmp_path: Path, database: Database, loop: LoopThread) -> None:
    sink = Sink(loop)
    smtp, web = free_port(), free_port()
    config = tmp_path / "supportbot.toml"
    config.write_text(storage_toml(database) + f"""
[smtp]
port = {smtp}
[mail]
support_addresses = ["support@provider.example"]
[relay]
host = "127.0.0.1"
port = {sink.port}
poll_seconds = 0.2
[web]
enabled = true
port = {web}
public_url = "http://127.0.0.1:{web}"
[client_links]
secret = "{SECRET}"
[scheduler]
enabled = false
[[clients]]
name = "acme"
policy = "panenco"
email_domains = ["acme.example"]
""", encoding="utf-8")
    bot = BotProcess(config, "run")
    bot.start(wait=False)
    try:
        bot.wait_for(r"web app listening")
        bot.wait_for(r"SMTP intake listening")
        with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as c:
            c.sendmail("anna@acme.example", ["support@provider.example"],
                       b"From: anna@acme.example\r\nTo: support@provider.example\r\n"
                       b"Subject: Exports fail\r\nMessage-ID: <run-c1@acme.example>\r\n\r\n"
                       b"The CSV export times out.\r\n")
        deadline = time.monotonic() + WAIT
        while not sink.handler.received:
            assert time.monotonic() < deadline, bot.log()
            time.sleep(0.05)
        (ack,) = sink.handler.messages()
        (url,) = links_in(ack)
        with httpx.Client(timeout=30) as b:
            page = b.get(url)
            assert page.status_code == 200 and "Exports fail" in page.text
            fields = dict(re.findall(r'name="(form_key|nonce)" value="([^"]+)"', page.text))
            sent = b.post(url, data={**fields, "text": "It also fails for XLSX."})
            assert sent.status_code == 303
            bot.wait_for(r"mail processed .*state=done action=follow-up ticket=T-1001")
            assert "It also fails for XLSX." in b.get(url).text
            health = b.get(f"http://127.0.0.1:{web}/healthz").json()
            metrics = b.get(f"http://127.0.0.1:{web}/metrics").text
        assert health["checks"]["client"]["ok"] is True
        assert 'supportbot_client_pages_total{outcome="added"} 1.0' in metrics
        assert 'supportbot_client_pages_total{outcome="status"} 2.0' in metrics
        assert bot.stop() == 0, bot.log()
    finally:
        bot.close()
        sink.close()
