"""``/metrics`` through prometheus-client: a real ``supportbot run`` takes a mail by SMTP and
an event from Slack, sends through a real relay and the Slack fake, delivers a reminder, and
its histograms move; the outbox age is read from the database at scrape time; each app has a
registry of its own. Every scrape is real HTTP, parsed with prometheus-client's own parser."""

from __future__ import annotations

import smtplib
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx

from adapters.bootstrap import bootstrap
from adapters.metrics import Metrics
from adapters.storage import Database
from adapters.storage.outbox import OutboxStore
from bot.clock import ManualClock
from config.settings import Settings
from tests.mailpeers import Sink, loop_thread
from tests.metrics_text import parse, scrape, value
from tests.procs import WAIT, BotProcess, free_port, storage_toml
from tests.slack_fake import SECRET, event_body, serve_fake, signed
from tests.test_reminder_run import FAST
from tests.test_slack import CLIENT, SUPPORT, TRIAGE, serve


def test_a_running_bot_measures_intake_acknowledgement_reminders_and_delivery(
        tmp_path: Path, database: Database) -> None:
    with loop_thread() as lt:
        run_bot(tmp_path, database, Sink(lt))


def run_bot(tmp_path: Path, database: Database, relay: Sink) -> None:
    fake, fake_server = serve_fake()
    smtp_port, web_port = free_port(), free_port()
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "fast247.toml").write_text(FAST, encoding="utf-8")
    config = tmp_path / "supportbot.toml"
    config.write_text(storage_toml(database) + f"""
[smtp]
port = {smtp_port}

[mail]
support_addresses = ["support@provider.example"]

[relay]
host = "127.0.0.1"
port = {relay.port}
poll_seconds = 0.5

[policies]
paths = ["policies"]

[reminders]
poll_seconds = 0.2

[web]
enabled = true
port = {web_port}

[slack]
enabled = true
bot_token = "xoxb-test"
signing_secret = "{SECRET}"
api_base_url = "{fake.base_url}"

[[clients]]
name = "nightowl"
policy = "fast247"
email_domains = ["nightowl.example"]
slack_channels = ["{SUPPORT}"]
triage_channel = "{TRIAGE}"
""", encoding="utf-8")
    bot = BotProcess(config, "metrics")
    url = f"http://127.0.0.1:{web_port}"
    try:
        bot.start(wait=False)
        bot.wait_for(r"web app listening")
        before = scrape(url)
        assert value(before, "supportbot_intake_latency_seconds_count", channel="smtp") == 0
        assert value(before, "process_cpu_seconds_total") > 0  # the process collector
        assert ("python_info" in {n for n, _ in before})  # the platform collector

        mail = EmailMessage()
        mail["From"], mail["To"] = "jo@nightowl.example", "support@provider.example"
        mail["Subject"] = "Checkout down"
        mail.set_content("All users get errors, no workaround.")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as c:
            c.send_message(mail)  # its 250: the message is stored
        body = event_body({"type": "message", "channel": SUPPORT, "user": CLIENT,
                           "ts": "1.000100", "text": "Export fails for everyone"}, "EvM1")
        assert httpx.post(url + "/slack/events", content=body.encode(), headers=signed(body),
                          timeout=10).status_code == 200

        wanted = {("supportbot_intake_latency_seconds_count", "channel", "smtp"),
                  ("supportbot_intake_latency_seconds_count", "channel", "slack"),
                  ("supportbot_slack_ack_seconds_count", "route", "events"),
                  ("supportbot_outbox_delivery_seconds_count", "kind", "mail"),
                  ("supportbot_outbox_delivery_seconds_count", "kind", "slack")}
        deadline = time.monotonic() + 2 * WAIT
        while True:
            after = scrape(url)
            missing = [w for w in wanted if value(after, w[0], **{w[1]: w[2]}) < 1]
            if not missing and value(after, "supportbot_reminder_lateness_seconds_count") >= 1:
                break
            assert time.monotonic() < deadline, (missing, bot.log())
            time.sleep(0.2)

        # one mail and one event processed: counted once each, under their channel
        for channel in ("smtp", "slack"):
            assert value(after, "supportbot_intake_latency_seconds_count", channel=channel) == 1
            assert value(after, "supportbot_intake_processed_total", channel=channel,
                         state="done") == 1
            # processed within the sweep: in the 10 s bucket, and +Inf holds every one
            assert value(after, "supportbot_intake_latency_seconds_bucket", channel=channel,
                         le="10.0") == 1
            assert value(after, "supportbot_intake_latency_seconds_bucket", channel=channel,
                         le="+Inf") == 1
            assert value(after, "supportbot_intake_latency_seconds_bucket", channel=channel,
                         le="0.01") <= 1
        # Slack had its 200 within its 3 s
        assert value(after, "supportbot_slack_ack_seconds_bucket", route="events",
                     le="3.0") == value(after, "supportbot_slack_ack_seconds_count",
                                        route="events")
        assert len(relay.handler.received) >= 1  # the acknowledgement went through the relay
        assert value(after, "supportbot_outbox_delivery_seconds_sum", kind="mail") > 0
        assert value(after, "supportbot_reminder_lateness_seconds_bucket", le="+Inf") >= 1
        # nothing waits any more; the existing families keep their names
        assert value(after, "supportbot_outbox_oldest_pending_seconds", kind="mail") == 0
        assert value(after, "supportbot_open_tickets") == 2
        assert value(after, "supportbot_slack_events", state="done") == 1
        assert value(after, "supportbot_inbound_messages", state="done") == 1
        assert bot.stop() == 0
        assert "Traceback" not in bot.all_logs()
    finally:
        bot.close()
        fake_server.shutdown()
        relay.close()


def test_outbox_age_is_read_from_the_database_at_scrape_time(database: Database) -> None:
    t0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    clock = ManualClock(t0)
    storage = {"url": database.url.render_as_string(hide_password=False)}
    if database.schema:
        storage["schema"] = database.schema
    app = bootstrap(Settings.model_validate({"storage": storage, "smtp": {"enabled": False}}),
                    clock=clock, upgrade=False)
    with app.db.session(write=True) as s:  # queued by another process, say: only in storage
        OutboxStore(s).queue("slack", "triage", key="k1", at=t0 - timedelta(seconds=90))
        OutboxStore(s).queue("slack", "thread", key="k2", at=t0 - timedelta(seconds=30))
        s.commit()
    server, thread, url = serve(app, [])
    try:
        m = scrape(url)
        assert value(m, "supportbot_outbox_oldest_pending_seconds", kind="slack") == 90
        assert value(m, "supportbot_outbox_oldest_pending_seconds", kind="mail") == 0
        clock.advance(timedelta(seconds=30))
        m = scrape(url)
        assert value(m, "supportbot_outbox_oldest_pending_seconds", kind="slack") == 120
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        app.close()


def test_each_app_has_a_registry_of_its_own() -> None:
    a, b = Metrics(), Metrics()
    at = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    a.processed("smtp", "done", at, at + timedelta(seconds=2))
    a.processed("smtp", "pending", at, at + timedelta(seconds=3))  # a failure: not processed
    pa, pb = parse(a.text().decode()), parse(b.text().decode())
    assert value(pa, "supportbot_intake_latency_seconds_count", channel="smtp") == 1
    assert value(pa, "supportbot_intake_latency_seconds_sum", channel="smtp") == 2
    assert value(pa, "supportbot_intake_latency_seconds_bucket", channel="smtp",
                 le="1.0") == 0
    assert value(pb, "supportbot_intake_latency_seconds_count", channel="smtp") == 0
