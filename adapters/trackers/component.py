"""The trackers' web component: the signed webhooks of each client's tracker
(``/trackers/{jira,trello,asana}/CLIENT``), the delivery loop of the outbox's tracker work,
and their health and metrics.

A webhook whose signature is missing or wrong gets 401 and changes nothing; a signed one is
stored raw in the one inbox (kind ``tracker``, keyed by the vendor's delivery id or the
body's hash, so the vendor's retries are one input) before the 2xx, then applied. One whose
handling failed (the tracker could not be read back, storage) is retried from the inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.inbox.processor import Decision, Inbox
from adapters.storage.trackers import KIND, TrackerLinks, hook_secret, take_hook_secret
from adapters.trackers import webhooks as wh
from adapters.trackers.api import TrackerApi, TrackerError
from adapters.trackers.inbound import apply_changes
from adapters.trackers.sender import TrackerSender
from adapters.web.component import Health
from bot.tracker.inbound import TrackerChange
from config.trackers import AsanaTracker, JiraTracker, TrelloTracker

if TYPE_CHECKING:
    from adapters.bootstrap import App

log = logging.getLogger("supportbot.trackers")
SWEEP_AFTER = timedelta(seconds=30)


class TrackerComponent:
    name = "trackers"

    def __init__(self, app: App, apis: Mapping[str, TrackerApi], *,
                 link_base: str | None = None, poll_seconds: float = 5.0) -> None:
        """``link_base``: the ticket pages' URL (the dashboard), the reference appended."""
        self.app = app
        self.trackers = {c.name: c.tracker for c in app.settings.clients if c.tracker}
        self.apis = dict(apis)
        self.inbox = Inbox(app.uow, app.clock, KIND)
        self.sender = TrackerSender(
            app.uow, app.clock, apis, app.helpdesk, link_base=link_base,
            labels={c: t.breached_label for c, t in self.trackers.items()})
        app.tracker_queued.connect(self.sender.wake)
        self.poll_seconds = poll_seconds
        self.webhooks: Counter[tuple[str, str]] = Counter()
        self._tasks: list[asyncio.Task[None]] = []

    # -- WebComponent ------------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        return [Route("/trackers/{kind}/{client}", self._webhook, methods=["POST", "HEAD"])]

    def health(self) -> Health:
        if not self._tasks or any(t.done() for t in self._tasks):
            return Health(False, "tracker delivery loop not running")
        health = Health(True, f"{self.sender.sent} tracker calls delivered")
        for reach in self.sender.reach.values():
            health = health & reach.health()
        return health

    def metrics(self) -> Iterable[Metric]:
        g = GaugeMetricFamily("supportbot_tracker_outbox",
                              "Tracker work in the outbox by client and state.",
                              labels=["client", "state"])
        with self.app.uow.reader() as uow:
            status = TrackerLinks(uow.session).status()
        for client, entry in sorted(status.items()):
            for state, n in sorted(entry["states"].items()):
                g.add_metric([client, state], n)
        yield g
        c = CounterMetricFamily("supportbot_tracker_webhooks",
                                "Tracker webhooks by kind and result.", labels=["kind", "result"])
        for (kind, result), n in sorted(self.webhooks.items()):
            c.add_metric([kind, result], n)
        yield c
        yield CounterMetricFamily("supportbot_tracker_failures",
                                  "Tracker calls that failed (outage or refusal).",
                                  value=self.sender.failures)

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self.sender.run(), name="tracker-sender"),
                       asyncio.create_task(self._sweep(), name="tracker-inbox")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    # -- webhooks ------------------------------------------------------------------------------

    async def _webhook(self, request: Request) -> Response:
        kind, client = request.path_params["kind"], request.path_params["client"]
        tracker = self.trackers.get(client)
        if tracker is None or tracker.kind != kind:
            return PlainTextResponse("no such tracker", status_code=404)
        if request.method == "HEAD":  # Trello checks the callback URL answers
            return Response(status_code=200)
        body = await request.body()
        if isinstance(tracker, AsanaTracker) and "x-hook-secret" in request.headers:
            return await self._handshake(client, request.headers["x-hook-secret"])
        if not await asyncio.to_thread(self._signed, tracker, client, request, body):
            self.webhooks[(kind, "unauthorized")] += 1
            log.warning("tracker webhook with a bad or missing signature refused",
                        extra={"kind": kind, "client": client})
            return PlainTextResponse("invalid signature", status_code=401)
        key = f"{kind}/{client}/{_delivery_id(request, body)}"
        try:
            row_id, new = await asyncio.to_thread(self.inbox.accept, key, body,
                                                  peer=f"{kind}/{client}")
        except Exception:
            self.webhooks[(kind, "error")] += 1
            log.exception("tracker webhook could not be stored")
            return PlainTextResponse("could not be stored; retry", status_code=503)
        self.webhooks[(kind, "ok" if new else "duplicate")] += 1
        if new:
            await self.process(row_id)
        return PlainTextResponse("ok")

    async def _handshake(self, client: str, secret: str) -> Response:
        def take() -> bool:
            with self.app.uow() as uow:
                ok = take_hook_secret(uow.session, client, "asana", secret,
                                      self.app.clock.now())
                uow.commit()
            return ok

        if not secret or not await asyncio.to_thread(take):
            self.webhooks[("asana", "unauthorized")] += 1
            return PlainTextResponse("a webhook secret is kept already", status_code=403)
        self.webhooks[("asana", "handshake")] += 1
        return Response(status_code=200, headers={"X-Hook-Secret": secret})

    def _signed(self, tracker: Any, client: str, request: Request, body: bytes) -> bool:
        secret = tracker.webhook_secret.get_secret_value()
        h = request.headers
        if isinstance(tracker, JiraTracker):
            return bool(secret) and wh.jira_signed(secret, body, h.get("x-hub-signature", ""))
        if isinstance(tracker, TrelloTracker):
            public = self.app.settings.web.public_url
            url = tracker.callback_url or (public.rstrip("/") + request.url.path if public
                                           else str(request.url))
            return bool(secret) and wh.trello_signed(secret, body, url,
                                                     h.get("x-trello-webhook", ""))
        if not secret:
            with self.app.uow.reader() as uow:
                secret = hook_secret(uow.session, client, "asana") or ""
        return bool(secret) and wh.asana_signed(secret, body, h.get("x-hook-signature", ""))

    # -- applying ------------------------------------------------------------------------------

    async def process(self, row_id: int) -> str:
        """Apply a stored webhook; returns the input's state afterwards."""
        item = await asyncio.to_thread(self.inbox.pending, row_id)
        if item is None:
            return "done"
        kind, _, client = item.peer.partition("/")
        try:
            changes = await asyncio.to_thread(self._changes, kind, client, item.raw)
        except (ValueError, KeyError) as e:
            return await asyncio.to_thread(self.inbox.settle, row_id, Decision(
                "quarantined", f"not a {kind} webhook body: {e}"))
        except TrackerError as e:  # Asana could not be read back: retried after a backoff
            return await asyncio.to_thread(self.inbox.failed, row_id, str(e))
        clock, helpdesk = self.app.clock, self.app.helpdesk
        return await asyncio.to_thread(self.inbox.process, row_id, lambda uow, _item:
                                       apply_changes(uow, helpdesk, client, changes,
                                                     clock.now()))

    def _changes(self, kind: str, client: str, raw: bytes) -> list[TrackerChange]:
        tracker = self.trackers.get(client)
        if tracker is None:
            raise ValueError(f"client {client!r} has no tracker now")
        body = wh.parse(raw)
        if isinstance(tracker, JiraTracker):
            return wh.jira_changes(tracker, body)
        if isinstance(tracker, TrelloTracker):
            return wh.trello_changes(tracker, body)
        api = self.apis[client]
        from adapters.trackers.asana import AsanaApi

        assert isinstance(api, AsanaApi)
        return wh.asana_changes(tracker, api, body)

    async def _sweep(self) -> None:
        while True:
            try:
                for row_id in await asyncio.to_thread(self.inbox.due, 100, SWEEP_AFTER):
                    await self.process(row_id)
            except Exception:
                log.exception("tracker inbox sweep failed")
            await asyncio.sleep(self.poll_seconds)


def _delivery_id(request: Request, body: bytes) -> str:
    h = request.headers
    given = h.get("x-atlassian-webhook-identifier") or h.get("x-request-id")
    return given or hashlib.sha256(body).hexdigest()
