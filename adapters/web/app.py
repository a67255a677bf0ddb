"""The bot's web app: one ASGI app (Starlette on uvicorn, inside ``supportbot run``) that hosts
every HTTP-facing adapter (Slack, Twilio webhooks) beside ``/healthz`` and ``/metrics``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence

from sqlalchemy import func
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from adapters.storage import Database
from adapters.storage.tables import InboundRow, OutboxRow
from adapters.web.component import Health, WebComponent
from bot.services import ACTIVE, Helpdesk

log = logging.getLogger("supportbot.web")

PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


def storage_health(db: Database) -> Health:
    try:
        db.check()
    except Exception as e:
        return Health(False, str(e))
    return Health(True, db.dialect)


def core_metrics(db: Database, helpdesk: Helpdesk) -> Iterable[str]:
    """Intake counts by state, queue depths and the clock states of open tickets."""
    with db.session() as s:
        inbound = dict(s.exec(select(InboundRow.state, func.count()).where(
            InboundRow.kind == "mail").group_by(col(InboundRow.state))).all())
        outbox = dict(s.exec(select(OutboxRow.state, func.count()).where(
            OutboxRow.kind == "mail").group_by(col(OutboxRow.state))).all())
    yield "# HELP supportbot_inbound_messages Mail accepted by the intakes, by processing state."
    yield "# TYPE supportbot_inbound_messages gauge"
    for state in sorted({"pending", "done", "duplicate", "ignored", "quarantined", *inbound}):
        yield f'supportbot_inbound_messages{{state="{state}"}} {inbound.get(state, 0)}'
    yield "# HELP supportbot_queue_depth Work waiting: mail to process, mail to send."
    yield "# TYPE supportbot_queue_depth gauge"
    yield f'supportbot_queue_depth{{queue="inbound"}} {inbound.get("pending", 0)}'
    yield f'supportbot_queue_depth{{queue="outbox"}} {outbox.get("pending", 0)}'
    counts: dict[tuple[str, str], int] = {}
    views = helpdesk.list(statuses=ACTIVE, limit=100_000)
    for v in views:
        for c in v.clocks.values():
            counts[(c.name, c.status.value)] = counts.get((c.name, c.status.value), 0) + 1
    yield "# HELP supportbot_open_tickets Tickets new, open or paused."
    yield "# TYPE supportbot_open_tickets gauge"
    yield f"supportbot_open_tickets {len(views)}"
    yield "# HELP supportbot_clocks Clocks of open tickets, by clock and state."
    yield "# TYPE supportbot_clocks gauge"
    for (name, status), n in sorted(counts.items()):
        yield f'supportbot_clocks{{clock="{name}",status="{status}"}} {n}'


def create_app(components: Sequence[WebComponent], db: Database,
               helpdesk: Helpdesk) -> Starlette:
    """The web app: each component's routes, ``/healthz`` and ``/metrics``. Components start
    with the app (before it takes requests) and stop with it."""
    names = [c.name for c in components]
    if len(set(names)) != len(names):
        raise ValueError(f"web components need unique names (got {names})")

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

    def gather() -> str:
        lines = list(core_metrics(db, helpdesk))
        for c in components:
            try:
                lines += list(c.metrics())
            except Exception:
                log.exception("metrics of %s failed", c.name)
        return "\n".join(lines) + "\n"

    async def metrics(_request: Request) -> PlainTextResponse:
        return PlainTextResponse(await asyncio.to_thread(gather), media_type=PROMETHEUS)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        started: list[WebComponent] = []
        try:
            for c in components:
                await c.start()
                started.append(c)
            yield
        finally:
            for c in reversed(started):
                try:
                    await c.stop()
                except Exception:
                    log.exception("stopping %s failed", c.name)

    routes = [Route("/healthz", healthz), Route("/metrics", metrics)]
    for c in components:
        routes += list(c.routes())
    return Starlette(routes=routes, lifespan=lifespan)
