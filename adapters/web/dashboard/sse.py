"""Server-sent events for the queue: the event log polled by id. Whatever changed a ticket
(a mail taken in by another process, a Slack command, a second instance) appended to the log,
so a stream that sees a higher event id tells the page to fetch its rows again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from sqlalchemy import func
from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from adapters.storage import Database
from adapters.storage.tables import EventRow


def last_event_id(db: Database) -> int:
    with db.session() as s:
        return int(s.exec(select(func.max(EventRow.id))).one() or 0)


class EventStream:
    """``GET .../events``: ``event: changed`` with the newest event id whenever the log grew;
    a comment every ``keepalive`` seconds so proxies keep the connection; the stream ends after
    ``lifetime`` seconds and the browser reconnects (``retry``), resuming from its
    ``Last-Event-ID``."""

    def __init__(self, db: Database, *, poll: float = 1.0, keepalive: float = 15.0,
                 lifetime: float = 300.0) -> None:
        self.db = db
        self.poll = poll
        self.keepalive = keepalive
        self.lifetime = lifetime
        self.closing = asyncio.Event()
        self.streams = 0
        """Streams open now (for ``/metrics``)."""

    async def _events(self, request: Request, last: int,
                      loop_time: Callable[[], float]) -> AsyncIterator[str]:
        self.streams += 1
        try:
            yield f"retry: 1000\nid: {last}\n\n"
            started = quiet = loop_time()
            while loop_time() - started < self.lifetime and not self.closing.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.closing.wait(), timeout=self.poll)
                if self.closing.is_set() or await request.is_disconnected():
                    return
                newest = await run_in_threadpool(last_event_id, self.db)
                if newest > last:
                    last = newest
                    quiet = loop_time()
                    yield f"id: {last}\nevent: changed\ndata: {last}\n\n"
                elif loop_time() - quiet >= self.keepalive:
                    quiet = loop_time()
                    yield ": keepalive\n\n"
        finally:
            self.streams -= 1

    async def __call__(self, request: Request) -> Response:
        header = request.headers.get("last-event-id", "")
        last = int(header) if header.isdigit() else await run_in_threadpool(last_event_id,
                                                                            self.db)
        loop = asyncio.get_running_loop()
        return StreamingResponse(self._events(request, last, loop.time),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store",
                                          "X-Accel-Buffering": "no"})
