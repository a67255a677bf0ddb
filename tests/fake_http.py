"""The base of the trackers' loopback fakes (tests/fake_jira.py, fake_trello.py,
fake_asana.py): a threaded HTTP server on 127.0.0.1 (a free port, kept across a stop and a
start, for outage tests), routes by method and path pattern, every call recorded, and the
answers a test asks for (``refuse``: a status to answer everything with)."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WAIT = 20.0  # seconds: an upper bound to wait for a side effect, never a measurement


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    match: re.Match[str]


Answer = tuple[int, Any]
Route = tuple[str, re.Pattern[str], Callable[[Request], Answer]]


class FakeServer:
    """Subclasses fill ``routes`` and say in ``authorized`` whether a request may pass."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.RLock()
        self.refuse: int | None = None
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, method: str, pattern: str, handler: Callable[[Request], Answer]) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def authorized(self, request: Request) -> bool:
        return True

    def start(self) -> FakeServer:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: the port refuses connections until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def called(self, method: str, pattern: str) -> int:
        with self.lock:
            return sum(1 for m, p in self.calls if m == method and re.fullmatch(pattern, p))

    def wait(self, check: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with self.lock:
                got = check()
            if got:
                return got
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; calls: {self.calls}")

    def answer(self, method: str, raw_path: str, body: bytes,
               headers: dict[str, str]) -> Answer:
        parts = urllib.parse.urlsplit(raw_path)
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        ctype = headers.get("content-type", "")
        if not body:
            data: Any = None
        elif "json" in ctype or body[:1] in (b"{", b"["):
            data = json.loads(body)
        else:
            data = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        with self.lock:
            self.calls.append((method, parts.path))
            if self.refuse is not None:
                return self.refuse, {"message": "refused by the test", "errorMessages":
                                     ["refused by the test"]}
            for m, pattern, handler in self.routes:
                match = pattern.match(parts.path)
                if m == method and match:
                    request = Request(method, parts.path, query, data, headers, match)
                    if not self.authorized(request):
                        return 401, {"message": "unauthorized", "errorMessages": ["bad token"]}
                    return handler(request)
        return 404, {"message": f"no route {method} {parts.path}",
                     "errorMessages": [f"no route {method} {parts.path}"]}


def _handler(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload = fake.answer(self.command, self.path, body, headers)
            out = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PUT = do_DELETE = _any

    return Handler
