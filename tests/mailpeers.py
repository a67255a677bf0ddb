"""Real mail peers for tests: the bot's own SMTP intake served on a loop in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """An asyncio loop running in a daemon thread; ``run(coro)`` executes on it and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def wrap() -> T:
            return fn()
        return self.run(wrap())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@contextmanager
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    try:
        yield lt
    finally:
        lt.close()


class SinkHandler:
    """An aiosmtpd handler that keeps what it is sent: the outbound relay in tests.

    ``refuse`` makes it answer 451 to DATA (a relay that is down for a while).
    """

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refuse = False
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 relay busy, try later"
        with self._lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  envelope.original_content))
        return "250 2.0.0 OK"

    def messages(self) -> list[Any]:
        from email import message_from_bytes
        from email.policy import default

        with self._lock:
            return [message_from_bytes(raw, policy=default) for _, _, raw in self.received]


class Sink:
    """A real SMTP server on a free loopback port, run on a ``LoopThread``."""

    def __init__(self, lt: LoopThread) -> None:
        from aiosmtpd.smtp import SMTP

        self.handler = SinkHandler()
        self._lt = lt

        async def start() -> asyncio.AbstractServer:
            return await asyncio.get_running_loop().create_server(
                lambda: SMTP(self.handler, enable_SMTPUTF8=True), "127.0.0.1", 0)

        self.server = lt.run(start())
        self.port: int = self.server.sockets[0].getsockname()[1]

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()

        self._lt.run(stop())
