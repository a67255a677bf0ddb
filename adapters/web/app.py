"""The bot's web app: one ASGI app (Starlette on uvicorn, inside ``supportbot run``) that hosts
every HTTP-facing adapter (Slack, Twilio webhooks) beside ``/healthz`` and ``/metrics``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.metrics import CONTENT_TYPE, Metrics
from adapters.storage import Database, UnitOfWorks
from adapters.web.component import Health, WebComponent
from adapters.web.metrics import storage_metrics
from adapters.web.open_tickets import OpenTickets
from bot.services import Helpdesk

log = logging.getLogger("supportbot.web")


def storage_health(db: Database) -> Health:
    try:
        db.check()
    except Exception as e:
        return Health(False, str(e))
    return Health(True, db.dialect)


def _warm(tickets: OpenTickets) -> None:
    try:
        tickets.snapshots()
    except Exception as e:  # the next request tries again, and says why if it fails too
        log.warning("reading the open tickets at start failed: %s", e)


def create_app(components: Sequence[WebComponent], db: Database, helpdesk: Helpdesk,
               metrics: Metrics | None = None,
               open_tickets: OpenTickets | None = None) -> Starlette:
    """The web app: each component's routes, ``/healthz`` and ``/metrics`` (from ``metrics``,
    the app's registry; a registry of its own when none is given). Components start with the
    app (before it takes requests) and stop with it. ``open_tickets``: what ``/metrics``
    counts clocks from (shared with the dashboard's queue; one of its own when not given)."""
    names = [c.name for c in components]
    if len(set(names)) != len(names):
        raise ValueError(f"web components need unique names (got {names})")
    metrics = metrics or Metrics()
    tickets = open_tickets or OpenTickets(UnitOfWorks(db), helpdesk.clock, helpdesk.policies)
    metrics.source("storage", lambda: storage_metrics(db, helpdesk, helpdesk.clock, tickets))
    for c in components:
        metrics.source(c.name, c.metrics)

    async def healthz(_request: Request) -> JSONResponse:
        checks = {"storage": await asyncio.to_thread(storage_health, db)}
        for c in components:
            try:
                checks[c.name] = c.health()
            except Exception as e:
                checks[c.name] = Health(False, f"{type(e).__name__}: {e}")
        ok = all(h.ok for h in checks.values())
        status = "down" if not ok else \
            "degraded" if any(h.degraded for h in checks.values()) else "ok"
        return JSONResponse({"ok": ok, "status": status,
                             "checks": {k: {"ok": h.ok, "status": h.status, "detail": h.detail}
                                        for k, h in checks.items()}},
                            status_code=200 if ok else 503)

    async def serve_metrics(_request: Request) -> Response:
        return Response(await asyncio.to_thread(metrics.text), media_type=CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        started: list[WebComponent] = []
        try:
            for c in components:
                await c.start()
                started.append(c)
            # the first scrape (and queue page) would otherwise read every open ticket
            threading.Thread(target=_warm, args=(tickets,), name="open-tickets",
                             daemon=True).start()
            yield
        finally:
            for c in reversed(started):
                try:
                    await c.stop()
                except Exception:
                    log.exception("stopping %s failed", c.name)

    routes = [Route("/healthz", healthz), Route("/metrics", serve_metrics)]
    for c in components:
        routes += list(c.routes())
    return Starlette(routes=routes, lifespan=lifespan)
