"""A whole mail bot (tests/mailbot.py) whose client ``acme`` runs one of the policy fixtures
of tests/policies/, for end-to-end tests of clocks and states those fixtures define."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from adapters.bootstrap import bootstrap
from adapters.mail.inbound import InboundStore
from adapters.mail.outbound import OutboxSender, Relay
from adapters.mail.smtp import SmtpIntake, SupportHandler
from adapters.storage import Database
from bot.clock import ManualClock
from config.settings import Settings
from tests.mailbot import SUPPORT, Bot
from tests.mailpeers import LoopThread, Sink

POLICIES = Path(__file__).parent / "policies"
MON_09 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Mon 23 Nov 2026 09:00 Brussels


@contextlib.contextmanager
def policy_bot(database: Database, loop: LoopThread, policy: str) -> Iterator[Bot]:
    sink = Sink(loop)
    clock = ManualClock(MON_09)
    settings = Settings.model_validate({
        "storage": {"url": database.url.render_as_string(hide_password=False),
                    "schema": database.schema},
        "policies": {"default": policy, "paths": [str(POLICIES)]},
        "clients": [{"name": "acme", "policy": policy, "email_domains": ["acme.example"]}],
        "mail": {"support_addresses": [SUPPORT]},
        "relay": {"host": "127.0.0.1", "port": sink.port},
    })
    app = bootstrap(settings, clock=clock)
    store = InboundStore(app.db, clock)
    store.start()
    intake = SmtpIntake(SupportHandler(store, [SUPPORT]), "127.0.0.1", 0,
                        max_message_bytes=5_000_000)
    loop.run(intake.start())
    sender = OutboxSender(app.db, clock, Relay("127.0.0.1", sink.port))
    try:
        yield Bot(app, clock, intake, store, sender, sink)
    finally:
        loop.run(intake.stop())
        store.stop()
        sink.close()
        app.close()
