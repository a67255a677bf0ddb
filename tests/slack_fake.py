"""A fake Slack Web API on 127.0.0.1 (a free port) for the real ``slack_sdk`` clients: it
answers the methods the bot uses and records every call. Signed requests for the bot's own
endpoints are made with ``slack_sdk``'s real signature algorithm."""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

BOT_USER, BOT_ID, TEAM = "UBOT", "BBOT", "T0001"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
WAIT = 20.0  # seconds: an upper bound to wait for a side effect, never a measurement


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    """What each successful chat.postMessage answered, in order."""
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(channel, ts) -> message, for ``conversations.replies``."""
    fail: dict[str, list[str]] = field(default_factory=dict)
    """method -> errors to answer with, one per call, before succeeding."""
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    """user id -> ``users.info``'s user object."""
    deleted: set[tuple[str, str]] = field(default_factory=set)
    """(channel, ts) of messages deleted in Slack: updates and thread replies fail."""
    homes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """user id -> the Home tab view last published for them (``views.publish``)."""
    ws_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def called(self, method: str, **match: Any) -> list[Call]:
        with self.lock:
            calls = list(self.calls)
        return [c for c in calls if c.method == method
                and all(c.params.get(k) == v for k, v in match.items())]

    def wait_for(self, method: str, count: int = 1, **match: Any) -> list[Call]:
        deadline = time.monotonic() + WAIT
        while True:
            found = self.called(method, **match)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                pytest.fail(f"no {count} x {method} {match} within {WAIT}s; calls: "
                            f"{[(c.method, c.params) for c in self.calls]}")
            time.sleep(0.02)

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            pending = self.fail.get(method)
            if pending:
                return {"ok": False, "error": pending.pop(0)}
            ts = f"1790000000.{next(self._ts):06d}"
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": TEAM,
                    "user": "supportbot", "team": "Provider"}
        if method in ("chat.postMessage", "chat.update"):
            gone = (str(params.get("channel")), str(params.get("thread_ts") or params.get("ts")))
            if gone in self.deleted:
                return {"ok": False, "error": "thread_not_found" if method == "chat.postMessage"
                        else "message_not_found"}
        if method == "chat.postMessage":
            answer = {"ok": True, "channel": params.get("channel"), "ts": ts,
                      "message": {"text": params.get("text"), "ts": ts}}
            with self.lock:
                self.answers.append(answer)
            return answer
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "conversations.replies":
            msg = self.messages.get((str(params.get("channel")), str(params.get("ts"))))
            if msg is None:
                return {"ok": False, "error": "thread_not_found"}
            return {"ok": True, "messages": [msg], "has_more": False}
        if method == "users.info":
            user = self.users.get(str(params.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "views.publish":
            view = params.get("view")
            if isinstance(view, str):
                view = json.loads(view)
            if not params.get("user_id") or not isinstance(view, dict) \
                    or view.get("type") != "home" or len(view.get("blocks", [])) > 100:
                return {"ok": False, "error": "invalid_arguments"}
            with self.lock:
                self.homes[str(params["user_id"])] = view
            return {"ok": True, "view": {"id": f"V{ts}", "type": "home", **view}}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.ws_url}
        return {"ok": False, "error": "unknown_method"}


def serve_fake(port: int = 0) -> tuple[FakeSlack, ThreadingHTTPServer]:
    """The fake on ``port`` (0: a free one); ``server.shutdown()`` and ``server_close()``
    make Slack unreachable (connections refused), ``serve_fake(port)`` brings it back."""
    fake = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            method = url.path.removeprefix("/api/")
            params: dict[str, Any] = dict(urllib.parse.parse_qsl(url.query))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            ctype = self.headers.get("Content-Type", "")
            if raw and "json" in ctype:
                params.update(json.loads(raw))
            elif raw:
                params.update(urllib.parse.parse_qsl(raw.decode()))
            for k in ("blocks",):
                if isinstance(params.get(k), str):
                    params[k] = json.loads(params[k])
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            with fake.lock:
                fake.calls.append(Call(method, params, token))
            body = json.dumps(fake.answer(method, params)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _handle
        do_POST = _handle

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    fake.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, name="fake-slack", daemon=True).start()
    return fake, server


def signed(body: str, *, secret: str = SECRET, timestamp: int | None = None,
           content_type: str = "application/json") -> dict[str, str]:
    """Headers of a request Slack signed (the real v0 HMAC-SHA256)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig,
            "Content-Type": content_type}


def event_body(event: dict[str, Any], event_id: str) -> str:
    return json.dumps({"token": "x", "team_id": TEAM, "api_app_id": "A1",
                       "type": "event_callback", "event_id": event_id,
                       "event_time": int(time.time()), "event": event,
                       "authorizations": [{"team_id": TEAM, "user_id": BOT_USER,
                                           "is_bot": True}]})


def form_body(fields: dict[str, str]) -> str:
    return urllib.parse.urlencode(fields)


def action_body(user: str, channel: str, action: dict[str, Any]) -> str:
    payload = {"type": "block_actions", "team": {"id": TEAM}, "user": {"id": user},
               "api_app_id": "A1", "token": "x", "trigger_id": "1.2.3",
               "channel": {"id": channel}, "container": {"type": "message"},
               "response_url": "http://127.0.0.1:9/unused", "actions": [action]}
    return form_body({"payload": json.dumps(payload)})


class FakeSocketMode:
    """The websocket behind ``apps.connections.open``: says hello, sends the envelopes it is
    given, and records the acks (by ``envelope_id``) that the bot sends back."""

    def __init__(self) -> None:
        import asyncio

        self.acks: list[dict[str, Any]] = []
        self.connections = 0
        self._server: Any = None
        self._loop = asyncio.new_event_loop()
        self._outbox: asyncio.Queue[str] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-socket", daemon=True)
        self._thread.start()
        self._ready.wait(WAIT)

    def _run(self) -> None:
        import asyncio

        from websockets.asyncio.server import ServerConnection, serve

        async def handler(ws: ServerConnection) -> None:
            self.connections += 1
            await ws.send(json.dumps({"type": "hello", "num_connections": 1,
                                      "connection_info": {"app_id": "A1"}}))

            async def send() -> None:
                assert self._outbox is not None
                while True:
                    await ws.send(await self._outbox.get())

            sender = asyncio.create_task(send())
            try:
                async for message in ws:
                    self.acks.append(json.loads(message))
            finally:
                sender.cancel()

        async def main() -> None:
            self._outbox = asyncio.Queue()
            async with serve(handler, "127.0.0.1", 0) as server:
                self._server = server
                self.port = next(iter(server.sockets)).getsockname()[1]
                self._ready.set()
                await asyncio.Future()

        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(main())

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link"

    def stop(self) -> None:
        """Close every connection and stop listening: the bot's websocket is gone and a new
        one is refused."""
        import asyncio

        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(WAIT)

    def send_event(self, body: str, envelope_id: str) -> None:
        envelope = json.dumps({"envelope_id": envelope_id, "type": "events_api",
                               "payload": json.loads(body), "accepts_response_payload": False,
                               "retry_attempt": 0, "retry_reason": ""})
        assert self._outbox is not None
        self._loop.call_soon_threadsafe(self._outbox.put_nowait, envelope)

    def wait_ack(self, envelope_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        while True:
            found = [a for a in self.acks if a.get("envelope_id") == envelope_id]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                pytest.fail(f"no ack of {envelope_id} within {WAIT}s (acks: {self.acks})")
            time.sleep(0.02)
