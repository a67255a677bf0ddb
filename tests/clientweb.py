"""A mail bot with the client pages on: real SMTP intake and relay (``tests.mailbot``), the
client component served by uvicorn on a free port, read with httpx as a browser would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

import httpx

from adapters.bootstrap import bootstrap
from adapters.mail.inbound import InboundStore
from adapters.mail.outbound import OutboxSender, Relay
from adapters.mail.smtp import SmtpIntake, SupportHandler
from adapters.storage import Database
from adapters.web.client import ClientComponent
from bot.clock import ManualClock
from config.settings import Settings
from tests.mailbot import SUPPORT, Bot
from tests.mailpeers import LoopThread, Sink
from tests.procs import free_port
from tests.webserve import serve

SECRET = "test-secret-0123456789abcdef"
URL = re.compile(r"https?://\S+/(?:status|rate)/\S+")


@dataclass
class WebBot:
    bot: Bot
    base: str
    component: ClientComponent

    def browser(self) -> httpx.Client:
        """A browser: it keeps cookies, does not follow redirects by itself."""
        return httpx.Client(base_url=self.base, timeout=30)


def web_settings(database: Database, sink_port: int, port: int) -> Settings:
    """``tests.mailbot``'s settings with the web app and the client links on."""
    return Settings.model_validate({
        "storage": {"url": database.url.render_as_string(hide_password=False),
                    "schema": database.schema},
        "clients": [{"name": "acme", "policy": "panenco", "email_domains": ["acme.example"]}],
        "staff": [{"name": "Alice Martin", "email": "alice@provider.example"}],
        "mail": {"support_addresses": [SUPPORT], "team_name": "Provider Support"},
        "relay": {"host": "127.0.0.1", "port": sink_port},
        "web": {"enabled": True, "public_url": f"http://127.0.0.1:{port}"},
        "client_links": {"secret": SECRET},
    })


def links_in(mail: EmailMessage) -> list[str]:
    body = mail.get_body(("plain",))
    assert body is not None
    return URL.findall(body.get_content())


def web_bot(database: Database, loop: LoopThread) -> Iterator[WebBot]:
    sink = Sink(loop)
    port = free_port()
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))  # Mon 09:00 Brussels
    app = bootstrap(web_settings(database, sink.port, port), clock=clock)
    store = InboundStore(app.db, clock)
    store.start()
    intake = SmtpIntake(SupportHandler(store, [SUPPORT]), "127.0.0.1", 0,
                        max_message_bytes=5_000_000)
    loop.run(intake.start())
    sender = OutboxSender(app.db, clock, Relay("127.0.0.1", sink.port))
    bot = Bot(app, clock, intake, store, sender, sink)
    assert app.links is not None
    component = ClientComponent(app, app.links, store.accept)
    try:
        with serve(component.routes(), port=port) as base:
            yield WebBot(bot, base, component)
    finally:
        loop.run(intake.stop())
        store.stop()
        sink.close()
        app.close()
