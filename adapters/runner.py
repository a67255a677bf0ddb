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
from adapters.mail.imap import ImapConfig, ImapPoller
from adapters.mail.inbound import InboundStore
from adapters.mail.outbound import OutboxSender, Relay
from adapters.mail.smtp import SmtpIntake, SupportHandler, tls_context
from adapters.mail.worker import IntakeWorker
from adapters.twilio.setup import twilio_component
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


class MailStack:
    """The mail side of a running bot: durable intake, processing, outbound delivery."""

    def __init__(self, app: App) -> None:
        s = app.settings
        self.store = InboundStore(app.db, app.clock)
        self.worker = IntakeWorker(app.mail)
        self.store.on_stored = self.worker.notify
        relay = None
        if s.relay.host:
            relay = Relay(s.relay.host, s.relay.port, s.relay.username,
                          s.relay.password.get_secret_value() if s.relay.password else None,
                          s.relay.security, s.relay.timeout_seconds)
        self.sender = OutboxSender(app.db, app.clock, relay)
        self.worker.after = lambda _outcome: self.sender.wake.set()
        self.smtp: SmtpIntake | None = None
        if s.smtp.enabled:
            tls = (tls_context(s.smtp.tls_cert, s.smtp.tls_key)
                   if s.smtp.tls_cert and s.smtp.tls_key else None)
            self.smtp = SmtpIntake(SupportHandler(self.store, s.mail.support_addresses),
                                   s.smtp.host, s.smtp.port,
                                   max_message_bytes=s.smtp.max_message_bytes,
                                   hostname=s.smtp.hostname, tls=tls,
                                   require_starttls=s.smtp.require_starttls)
        self.imap: ImapPoller | None = None
        if s.imap.enabled:
            i = s.imap
            self.imap = ImapPoller(
                ImapConfig(host=i.host, port=i.port, username=i.username,
                           password=i.password.get_secret_value(), folder=i.folder,
                           tls=i.security == "tls", starttls=i.security == "starttls",
                           move_to=i.move_to, poll_seconds=i.poll_seconds, idle=i.idle),
                self.store, app.db, app.clock, on_stored=self.worker.notify)
        if relay is None:
            log.info("no outbound relay configured: mail waits in the outbox "
                     "(supportbot outbox list)")

    async def start(self) -> None:
        self.store.start()
        self.worker.start()
        self.sender.start()
        if self.smtp is not None:
            await self.smtp.start()
        if self.imap is not None:
            self.imap.start()

    async def stop(self) -> None:
        if self.smtp is not None:
            await self.smtp.stop()
        if self.imap is not None:
            await asyncio.to_thread(self.imap.stop)
        self.store.stop()
        self.worker.stop()
        self.sender.stop()


async def serve(app: App, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set."""
    s = app.settings
    mail = MailStack(app)
    await mail.start()
    # the Twilio component's pager loop; its webhook routes go into the web app with it
    twilio = twilio_component(s, app.phone) if app.phone is not None else None
    if twilio is not None:
        await twilio.start()
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
        if twilio is not None:
            await twilio.stop()
        await mail.stop()
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
