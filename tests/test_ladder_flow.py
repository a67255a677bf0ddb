"""The escalation ladder end to end: the reminder engine on real storage, the real Slack sink and
sender (``slack_sdk`` against the loopback fake Slack API, served by the real web app) and the
mail sink through the outbox to a real relay. Policy tests/policies/ladder.toml (24/7, P2
response 80m): at 50% the assignee alone (a Slack DM and a mail), at 80% the triage thread, at
the breach the managers (DM and mail); each person once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import App, bootstrap
from adapters.mail.outbound import OutboxSender, Relay
from adapters.reminders.engine import ReminderEngine
from adapters.slack.component import SlackComponent
from adapters.storage import Database
from bot.clock import ManualClock
from bot.priority import Priority
from config.settings import Settings
from tests.mailpeers import LoopThread, Sink
from tests.slack_fake import SECRET, WAIT, FakeSlack, serve_fake
from tests.test_slack import serve

POLICIES = Path(__file__).parent / "policies"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TRIAGE, ALICE, MONA, BOB = "CTRIAGE", "UALICE", "UMONA", "UBOB"


class Ladder:
    def __init__(self, app: App, fake: FakeSlack, sink: Sink, clock: ManualClock) -> None:
        self.app, self.fake, self.sink, self.clock = app, fake, sink, clock
        self.engine = ReminderEngine(app.uow, clock, app.helpdesk.policies,
                                     app.alert_sinks.for_reminders())
        self.mailer = OutboxSender(app.db, clock, Relay("127.0.0.1", sink.port))
        self.engine.rebuild()

    def run_until(self, until: datetime) -> None:
        self.engine.poll(check_policies=False)
        while (nxt := self.engine.next_wakeup()) is not None and nxt <= until:
            self.clock.set(max(nxt, self.clock.now()))
            self.engine.run_due()
        self.clock.set(until)
        self.engine.run_due()

    def mails(self) -> list[EmailMessage]:
        self.mailer.send_due()
        return self.sink.handler.messages()

    def alerts(self, channel: str, count: int = 0) -> list[dict[str, Any]]:
        """The reminder posts (not the triage post and its event lines) to ``channel``;
        waits for ``count`` of them."""
        def found() -> list[dict[str, Any]]:
            return [c.params for c in self.fake.called("chat.postMessage", channel=channel)
                    if ":alarm_clock:" in c.params.get("text", "")]
        deadline = time.monotonic() + WAIT
        while len(found()) < count:
            assert time.monotonic() < deadline, f"no {count} reminders in {channel}"
            time.sleep(0.02)
        return found()


@pytest.fixture
def ladder(database: Database, loop: LoopThread) -> Iterator[Ladder]:
    fake, fake_server = serve_fake()
    sink = Sink(loop)
    clock = ManualClock(T0)
    settings = Settings.model_validate({
        "storage": {"url": database.url.render_as_string(hide_password=False),
                    "schema": database.schema},
        "policies": {"default": "ladder", "paths": [str(POLICIES)]},
        "web": {"enabled": True},
        "slack": {"enabled": True, "bot_token": "xoxb-test", "signing_secret": SECRET,
                  "api_base_url": fake.base_url},
        "relay": {"host": "127.0.0.1", "port": sink.port},
        "clients": [{"name": "acme", "policy": "ladder", "email_domains": ["acme.example"],
                     "triage_channel": TRIAGE}],
        "staff": [{"name": "alice", "email": "alice@provider.example", "slack_user": ALICE},
                  {"name": "mona", "email": "mona@provider.example", "slack_user": MONA,
                   "role": "manager"},
                  {"name": "bob", "email": "bob@provider.example", "slack_user": BOB,
                   "role": "agent"}],
    })
    app = bootstrap(settings, clock=clock)
    server, thread, _url = serve(app, [SlackComponent(app, sender_interval=0.05)])
    try:
        yield Ladder(app, fake, sink, clock)
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        fake_server.shutdown()
        sink.close()
        app.close()


def test_each_step_tells_its_people_once(ladder: Ladder) -> None:
    hd = ladder.app.helpdesk
    ref = hd.register(subject="Export broken", client="acme", priority=Priority.P2,
                      actor="bob", reason="one user").reference
    hd.assign(ref, "alice", actor="bob")
    ladder.fake.wait_for("chat.postMessage", channel=TRIAGE)  # the triage post

    ladder.run_until(T0 + timedelta(minutes=45))  # 50% of 80m: 09:40
    [dm] = ladder.alerts(ALICE, 1)
    assert ref in dm["text"] and "50% of 1h20m used" in dm["text"]
    [mail] = ladder.mails()
    assert mail["To"] == "alice@provider.example" and ref in str(mail["Subject"])
    assert ladder.alerts(TRIAGE) == []  # the triage channel is not told at 50%

    ladder.run_until(T0 + timedelta(minutes=70))  # 80%: 10:04, the triage thread only
    [in_thread] = ladder.alerts(TRIAGE, 1)
    assert in_thread.get("thread_ts") and "80% of 1h20m used" in in_thread["text"]
    assert "<@UALICE>" not in in_thread["text"]  # the assignee is not a target at 80%
    # the triage step mails nobody (no reminders.mail_to)
    assert [m["Message-ID"] for m in ladder.mails()] == [mail["Message-ID"]]

    ladder.run_until(T0 + timedelta(minutes=90))  # breach: 10:20, the managers
    [to_mona] = ladder.alerts(MONA, 1)
    assert "BREACHED" in to_mona["text"]
    mails = ladder.mails()
    assert [m["To"] for m in mails] == ["alice@provider.example", "mona@provider.example"]
    assert "Breached" in str(mails[1]["Subject"])

    ladder.run_until(T0 + timedelta(hours=3))  # nothing again: no repeats in this policy
    ladder.engine.rebuild()  # a restart sends nothing twice
    ladder.run_until(T0 + timedelta(hours=4))
    time.sleep(0.3)  # the Slack sender polls every 0.05 s: anything queued would be out
    assert len(ladder.mails()) == 2
    assert [len(ladder.alerts(c)) for c in (ALICE, MONA, TRIAGE, BOB)] == [1, 1, 1, 0]
