"""A whole mail-handling bot for tests: real SMTP intake, processing from storage, and an outbox
sent to a real relay (an aiosmtpd sink), on a manual clock. Loaded as a pytest plugin."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid

import pytest

from adapters.bootstrap import App, bootstrap
from adapters.mail.inbound import InboundStore
from adapters.mail.outbound import OutboxSender, Relay
from adapters.mail.smtp import SmtpIntake, SupportHandler
from adapters.storage import Database
from bot.clock import ManualClock
from bot.mail.intake import Outcome
from config.settings import Settings
from tests.mailpeers import LoopThread, Sink, loop_thread

SUPPORT = "support@provider.example"
PHONE = "+3216000000"


class TickingClock(ManualClock):
    """A clock a second later at every reading: catches two readings taken as one."""

    def now(self) -> datetime:
        return self.advance(timedelta(seconds=1))


@dataclass
class Bot:
    app: App
    clock: ManualClock
    intake: SmtpIntake
    store: InboundStore
    sender: OutboxSender
    sink: Sink

    def send(self, msg: EmailMessage | bytes, rcpt: str = SUPPORT,
             envelope_from: str = "bounce-me@client.example") -> None:
        # smtplib fixes line ends of str messages only: bytes must already be CRLF
        raw = msg if isinstance(msg, bytes) else msg.as_bytes(policy=SMTP)
        with smtplib.SMTP("127.0.0.1", self.intake.port, timeout=30) as c:
            c.sendmail(envelope_from, [rcpt], raw)

    def process(self) -> list[Outcome]:
        return self.app.mail.process_pending()

    def deliver(self) -> list[EmailMessage]:
        """Send the outbox to the sink; the mails sent this time."""
        before = len(self.sink.handler.received)
        self.sender.send_due()
        return self.sink.handler.messages()[before:]

    def roundtrip(self, msg: EmailMessage | bytes) -> tuple[Outcome, list[EmailMessage]]:
        self.send(msg)
        outcomes = self.process()
        assert len(outcomes) == 1, outcomes
        return outcomes[0], self.deliver()


def mail(sender: str, subject: str, body: str, **headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = SUPPORT
    m["Subject"] = subject
    m["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    m["Date"] = "Mon, 23 Nov 2026 08:55:00 +0100"
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content(body)
    return m


def reply_to(original: EmailMessage, sender: str, body: str, **headers: str) -> EmailMessage:
    m = mail(sender, f"Re: {original['Subject']}", body, **headers)
    m["In-Reply-To"] = original["Message-ID"]
    m["References"] = original["Message-ID"]
    return m


CLIENTS = [{"name": "acme", "policy": "panenco", "email_domains": ["acme.example"]},
           {"name": "globex", "policy": "panenco", "emails": ["cto@globex.example"]}]


def settings_for(database: Database, sink_port: int, clients: list[dict] | None = None,
                 **mail: object) -> Settings:
    return Settings.model_validate({
        "storage": {"url": database.url.render_as_string(hide_password=False),
                    "schema": database.schema},
        "clients": CLIENTS if clients is None else clients,
        "mail": {"support_addresses": [SUPPORT], "phone_number": PHONE, **mail},
        "relay": {"host": "127.0.0.1", "port": sink_port},
    })


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    with loop_thread() as lt:
        yield lt


@pytest.fixture
def make_bot(database: Database, loop: LoopThread) -> Iterator[object]:
    made: list[Bot] = []

    def make(*, ticking: bool = False, clients: list[dict] | None = None,
             **mail_settings: object) -> Bot:
        """``ticking``: time moves a second at each reading, as on a real machine;
        ``clients``: the settings' clients instead of ``CLIENTS``."""
        sink = Sink(loop)
        start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Mon 09:00 Brussels
        clock = TickingClock(start) if ticking else ManualClock(start)
        app = bootstrap(settings_for(database, sink.port, clients, **mail_settings), clock=clock)
        store = InboundStore(app.db, clock)
        store.start()
        intake = SmtpIntake(SupportHandler(store, [SUPPORT]), "127.0.0.1", 0,
                            max_message_bytes=5_000_000)
        loop.run(intake.start())
        sender = OutboxSender(app.db, clock, Relay("127.0.0.1", sink.port))
        bot = Bot(app, clock, intake, store, sender, sink)
        made.append(bot)
        return bot

    yield make
    for b in made:
        loop.run(b.intake.stop())
        b.store.stop()
        b.sink.close()
        b.app.close()


@pytest.fixture
def bot(make_bot) -> Bot:  # type: ignore[no-untyped-def]
    return make_bot()


