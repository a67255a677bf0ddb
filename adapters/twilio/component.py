"""The Twilio web component: voice, recording, key-press and status webhooks, and the pager loop.

Every webhook is checked with Twilio's ``RequestValidator`` against ``[web] public_url`` plus
the path (and query) it was sent to; a bad or missing signature gets 403 and changes nothing.
A signed webhook is stored raw in the one inbox (kind ``twilio``, keyed by Twilio's
idempotency token, else by its route and body) before it is acted on, and whatever it changes
is committed before the answer goes back. One whose handling failed is handled again from the
inbox by the pager loop, after its backoff (the desk's handlers are idempotent per Sid), and
quarantined with the error after the last attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta
from urllib.parse import parse_qsl

from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from adapters.inbox.processor import Decision, Inbox
from adapters.web.component import Health
from adapters.web.reach import Reachability
from bot.phone.desk import PhoneDesk
from bot.phone.ports import CallAnswer

log = logging.getLogger("supportbot.twilio")

PATHS = {
    "voice": "/twilio/voice",
    "recording": "/twilio/voice/recording",
    "call_status": "/twilio/voice/status",
    "gather": "/twilio/page/gather",
    "sms_status": "/twilio/sms/status",
}

Handler = Callable[[dict[str, str]], Awaitable[Response]]

KIND = "twilio"
"""The inbox kind of Twilio webhooks."""
SWEEP_AFTER = timedelta(seconds=30)
"""A pending webhook younger than this is still being handled by its request."""


class TwilioComponent:
    """Mounted into the web app; runs the pager loop between ``start`` and ``stop``."""

    name = "twilio"

    def __init__(self, desk: PhoneDesk, auth_token: str, public_url: str,
                 poll_seconds: float = 5.0, *, inbox: Inbox, reach: Reachability | None = None,
                 probe: Callable[[], None] | None = None, probe_seconds: float = 30.0) -> None:
        self.desk = desk
        self.reach = reach
        """The REST API's reachability, from the desk's calls and SMS and from ``probe``."""
        self.probe = probe
        self.probe_seconds = probe_seconds
        self.inbox = inbox
        self._validator = RequestValidator(auth_token)
        self.public = public_url.rstrip("/")
        self.poll_seconds = poll_seconds
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.webhooks: Counter[tuple[str, str]] = Counter()
        self.ticks = 0
        self.tick_errors = 0
        self.last_error = ""

    # -- WebComponent ------------------------------------------------------------------------

    def _handlers(self) -> dict[str, Handler]:
        return {"voice": self._voice, "recording": self._recording,
                "call_status": self._call_status, "gather": self._gather,
                "sms_status": self._sms_status}

    def routes(self) -> Sequence[BaseRoute]:
        return [Route(PATHS[k], self._signed(k), methods=["POST"]) for k in self._handlers()]

    def health(self) -> Health:
        """Down when the pager loop is not running or its last round failed, or when the
        REST API cannot be used (no connection, refused credentials: failed calls in a row)."""
        if self._task is None or self._task.done():
            return Health(False, "pager loop not running")
        if self.last_error:
            return Health(False, f"last pager round failed: {self.last_error}")
        health = Health(True, f"{self.ticks} pager rounds")
        return health & self.reach.health() if self.reach is not None else health

    def metrics(self) -> Iterable[Metric]:
        c = CounterMetricFamily("supportbot_twilio_webhooks",
                                "Twilio webhooks by route and result.", labels=["route", "result"])
        for (route, result), n in sorted(self.webhooks.items()):
            c.add_metric([route, result], n)
        yield c
        c = CounterMetricFamily("supportbot_twilio_placed",
                                "Paging calls and SMS placed, and failures.", labels=["what"])
        for what, n in sorted(self.desk.placed.items()):
            c.add_metric([what], n)
        yield c
        yield CounterMetricFamily("supportbot_twilio_pager_errors", "Pager rounds that failed.",
                                  value=self.tick_errors)

    async def start(self) -> None:
        self.wake = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="twilio-pager")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- the pager loop ------------------------------------------------------------------------

    def _probe_due(self) -> bool:
        if self.probe is None or self.reach is None:
            return False
        quiet = self.reach.quiet_for()
        if quiet is None or quiet >= self.probe_seconds:
            return True
        return self.reach.failures > 0 and quiet >= min(self.probe_seconds, 5.0)

    async def _loop(self) -> None:
        while True:
            self.wake.clear()
            try:
                if self._probe_due():
                    assert self.probe is not None
                    await asyncio.to_thread(self.probe)
                await self.process_pending()
                await asyncio.to_thread(self.desk.tick)
                self.last_error = ""
            except Exception as e:  # storage down, a bug: log, count, try again next round
                self.tick_errors += 1
                self.last_error = f"{type(e).__name__}: {e}"
                log.exception("pager round failed")
            self.ticks += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.poll_seconds)

    # -- webhooks ------------------------------------------------------------------------------

    def _signed(self, route: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            params = form_params(body)
            url = self.public + request.url.path
            if request.url.query:
                url += "?" + request.url.query
            signature = request.headers.get("X-Twilio-Signature", "")
            if not signature or not self._validator.validate(url, params, signature):
                self.webhooks[(route, "forbidden")] += 1
                log.warning("Twilio webhook with a bad signature refused",
                            extra={"route": route, "peer": request.client.host
                                   if request.client else "-"})
                return PlainTextResponse("invalid signature", status_code=403)
            token = request.headers.get("I-Twilio-Idempotency-Token", "")
            key = token or f"{route}:{hashlib.sha256(body).hexdigest()}"
            try:
                row_id, _new = await asyncio.to_thread(self.inbox.accept, key, body, peer=route)
                response = await self._handle(row_id, route, params)
            except Exception:
                self.webhooks[(route, "error")] += 1
                log.exception("Twilio webhook failed", extra={"route": route})
                return PlainTextResponse("could not be stored; retry", status_code=503)
            self.webhooks[(route, "ok")] += 1
            return response

        return endpoint

    async def _handle(self, row_id: int, route: str, params: dict[str, str]) -> Response:
        """Act on a stored webhook and record the outcome in the inbox. A redelivery of one
        handled before gets the handler's (idempotent) answer again and changes nothing."""
        try:
            response = await self._handlers()[route](params)
        except Exception as e:
            await asyncio.to_thread(self.inbox.failed, row_id, f"{type(e).__name__}: {e}")
            raise
        if response.status_code < 400:
            decision = Decision("done", route)
        else:
            decision = Decision("ignored", f"{route}: {bytes(response.body).decode()[:200]}")
        await asyncio.to_thread(self.inbox.settle, row_id, decision)
        return response

    async def process_pending(self) -> int:
        """Handle again the stored webhooks whose handling failed (or was cut off by a
        crash); returns how many were handled."""
        done = 0
        for row_id in await asyncio.to_thread(self.inbox.due, 100, SWEEP_AFTER):
            item = await asyncio.to_thread(self.inbox.pending, row_id)
            if item is None:
                continue
            if item.peer not in self._handlers():
                await asyncio.to_thread(self.inbox.settle, row_id, Decision(
                    "quarantined", f"no handler for the route {item.peer!r}"))
                continue
            with contextlib.suppress(Exception):  # counted in the inbox, logged below
                await self._handle(row_id, item.peer, form_params(item.raw))
                done += 1
        return done

    async def _voice(self, p: dict[str, str]) -> Response:
        sid = p.get("CallSid", "")
        if not sid:
            return PlainTextResponse("CallSid missing", status_code=400)
        answer = await asyncio.to_thread(self.desk.inbound_call, sid, p.get("From", ""),
                                         p.get("To", ""))
        r = VoiceResponse()
        r.say(answer.text)
        if answer.kind == "voicemail":
            r.record(action=self.public + PATHS["recording"], method="POST", max_length=120,
                     play_beep=True)
        return _twiml(r)

    async def _recording(self, p: dict[str, str]) -> Response:
        answer = await asyncio.to_thread(self.desk.recording, p.get("CallSid", ""),
                                         p.get("RecordingUrl", ""),
                                         p.get("RecordingDuration", ""))
        return _say(answer)

    async def _gather(self, p: dict[str, str]) -> Response:
        answer = await asyncio.to_thread(self.desk.gather, p.get("CallSid", ""),
                                         p.get("Digits", ""))
        if answer.kind == "taken":
            self.wake.set()
        return _say(answer)

    async def _call_status(self, p: dict[str, str]) -> Response:
        return await self._status(self.desk.call_status, p.get("CallSid", ""),
                                  p.get("CallStatus", ""))

    async def _sms_status(self, p: dict[str, str]) -> Response:
        return await self._status(self.desk.sms_status, p.get("MessageSid", ""),
                                  p.get("MessageStatus", "") or p.get("SmsStatus", ""))

    async def _status(self, apply: Callable[[str, str], bool], sid: str,
                      status: str) -> Response:
        if not sid or not status:
            return PlainTextResponse("Sid and status required", status_code=400)
        try:
            changed = await asyncio.to_thread(apply, sid, status)
        except ValueError as e:  # a status Twilio does not send: refused, nothing stored
            return PlainTextResponse(str(e), status_code=400)
        if changed:
            self.wake.set()
        return Response(status_code=204)


def form_params(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (what Twilio posts) as a dict."""
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _say(answer: CallAnswer) -> Response:
    r = VoiceResponse()
    r.say(answer.text)
    r.hangup()
    return _twiml(r)


def _twiml(r: VoiceResponse) -> Response:
    return Response(str(r), media_type="application/xml")
