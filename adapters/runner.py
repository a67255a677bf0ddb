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
from adapters.reminders.engine import ReminderEngine
from adapters.reminders.leader import leadership_for
from adapters.reminders.loop import ReminderLoop
from adapters.reminders.sinks import build_sinks
from config.settings import Settings

log = logging.getLogger("supportbot.run")


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
    scheduler = AsyncIOScheduler(timezone="UTC")
    reminders: ReminderLoop | None = None
    if s.scheduler.enabled:
        sinks = build_sinks(app.db, app.clock, sender=s.mail.sender,
                            mail_to=s.reminders.mail_to, mail_assignee=s.reminders.mail_assignee,
                            on_mail=mail.sender.wake.set)
        engine = ReminderEngine(app.db, app.clock, app.helpdesk.policies, sinks)
        reminders = ReminderLoop(engine, leadership_for(app.db), scheduler,
                                 poll_seconds=s.reminders.poll_seconds,
                                 policy_check_seconds=s.scheduler.sweep_seconds)
        reminders.start()  # plain callables: run in the scheduler's thread pool
        scheduler.start()
    log.info("supportbot running", extra={"storage": repr(app.db), "clients": len(s.clients),
                                          "default_policy": s.policies.default,
                                          "scheduler": s.scheduler.enabled})
    try:
        await stop.wait()
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        if reminders is not None:
            reminders.stop()
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
