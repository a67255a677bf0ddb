"""Serving Starlette routes with uvicorn on a free port, in a thread, for a test: a stand-in
for the web app (which mounts the same components) and for fakes of vendor APIs."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from tests.procs import WAIT, free_port


@contextlib.contextmanager
def serve(routes: Sequence[BaseRoute], *, port: int | None = None,
          start: Callable[[], Awaitable[None]] | None = None,
          stop: Callable[[], Awaitable[None]] | None = None) -> Iterator[str]:
    """Serve ``routes`` on 127.0.0.1; yields the base URL. ``start``/``stop`` run in the
    server's event loop around serving (a component's lifecycle)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if start is not None:
            await start()
        try:
            yield
        finally:
            if stop is not None:
                await stop()

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=list(routes), lifespan=lifespan),
                                           host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name=f"uvicorn:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started:
        assert thread.is_alive(), "the test server did not start"
        assert time.monotonic() < deadline, "the test server did not start in time"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(WAIT)


def wait_for(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    """Poll until ``condition()`` is true; fails naming ``what`` after ``timeout`` (an upper
    bound, never a measurement)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
