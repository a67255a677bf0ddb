"""``supportbot run``: the long-running process. Builds the app once, starts the scheduler and
whatever intakes are configured, and stops cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from adapters.bootstrap import App, bootstrap
from adapters.logging_setup import configure_logging
from bot.services import ACTIVE
from config.settings import Settings

log = logging.getLogger("supportbot.run")


class ClockSweep:
    """Periodically derives every active ticket's clocks and logs each new breach once per run.

    The reminder loop (deadline pings to Slack and on-call) builds on this schedule.
    """

    def __init__(self, app: App) -> None:
        self.app = app
        self.reported: set[tuple[str, str]] = set()
        self.last_summary: tuple[int, int] | None = None

    def __call__(self) -> tuple[int, int]:
        views = self.app.helpdesk.list(statuses=ACTIVE, limit=100_000)
        breached = 0
        for v in views:
            for c in v.clocks.values():
                if c.breached and c.open:
                    breached += 1
                    key = (v.reference, c.name)
                    if key not in self.reported:
                        self.reported.add(key)
                        log.warning("clock breached", extra={
                            "ticket": v.reference, "clock": c.name, "priority": v.ticket.priority,
                            "due": c.due.isoformat() if c.due else "-"})
        summary = (len(views), breached)
        if summary != self.last_summary:
            log.info("clocks swept", extra={"active": summary[0], "breached": summary[1]})
            self.last_summary = summary
        return summary


async def serve(app: App, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set."""
    s = app.settings
    scheduler = AsyncIOScheduler(timezone="UTC")
    if s.scheduler.enabled:
        sweep = ClockSweep(app)
        # a plain callable: the scheduler runs it in its thread pool, off the event loop
        scheduler.add_job(sweep, "interval", seconds=s.scheduler.sweep_seconds, id="clock-sweep",
                          next_run_time=app.clock.now(), coalesce=True, max_instances=1)
        scheduler.start()
    log.info("supportbot running", extra={"storage": repr(app.db), "clients": len(s.clients),
                                          "default_policy": s.policies.default,
                                          "scheduler": s.scheduler.enabled})
    try:
        await stop.wait()
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        log.info("supportbot stopped")


def run_forever(settings: Settings) -> None:
    configure_logging(settings.log.level, settings.log.format)
    app = bootstrap(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await serve(app, stop)

    try:
        asyncio.run(main())
    finally:
        app.close()
