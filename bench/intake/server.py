"""The server side: the SMTP loop thread, the do-nothing ceiling handler, and the bot's app with
its inbound writer on a fresh database of either backend."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.intake.messages import PHONE, SUPPORT


class LoopThread:
    """An asyncio loop on its own thread (as tests.mailpeers.LoopThread), named for profiles."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="smtp-loop",
                                       daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class NullHandler:
    """The ceiling: aiosmtpd with a handler that does nothing."""

    addresses: frozenset[str] = frozenset()  # SmtpIntake logs them at start

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def serve(lt: LoopThread, handler: Any) -> Any:
    from adapters.mail.smtp import SmtpIntake

    intake = SmtpIntake(handler, "127.0.0.1", 0, max_message_bytes=25 * 1024 * 1024)
    lt.run(intake.start())
    return intake


def settings_for(url: str, schema: str | None, parse_processes: int) -> Any:
    from config.settings import Settings

    return Settings.model_validate({
        "storage": {"url": url, "schema": schema},
        "clients": [{"name": "acme", "policy": "panenco", "email_domains": ["acme.example"]},
                    {"name": "globex", "policy": "panenco",
                     "email_domains": ["globex.example"]}],
        "mail": {"support_addresses": [SUPPORT], "phone_number": PHONE,
                 "parse_processes": parse_processes},
    })


@dataclass
class Db:
    """One database of a backend: the app on it, and how to throw it away."""

    app: Any
    store: Any
    cleanup: Callable[[], None]


def open_db(backend: str, pg_url: str, label: str, tmp: Path, parse_processes: int) -> Db:
    from adapters.bootstrap import bootstrap
    from adapters.mail.inbound import InboundStore

    if backend == "sqlite":
        url, schema = f"sqlite:///{tmp / (label + '.db')}", None
    else:
        url, schema = pg_url, f"intake_bench_{os.getpid()}_{label}"
    app = bootstrap(settings_for(url, schema, parse_processes))
    store = InboundStore(app.db, app.clock)
    store.start()

    def cleanup() -> None:
        store.stop()
        if backend == "postgresql":
            app.db.drop_schema()
        app.close()

    return Db(app, store, cleanup)
