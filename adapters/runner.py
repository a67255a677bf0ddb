"""``supportbot run``: the long-running process. Builds the app once, starts the scheduler and
whatever intakes are configured, and stops cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time

import uvicorn
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from adapters.bootstrap import App, bootstrap
from adapters.listen import listening_socket
from adapters.logging_setup import configure_logging
from adapters.mail.imap import ImapConfig, ImapPoller
from adapters.mail.inbound import InboundStore
from adapters.mail.outbound import OutboxSender, Relay
from adapters.mail.pipe import IntakePresence
from adapters.mail.smtp import SmtpIntake, SupportHandler, tls_context
from adapters.mail.worker import IntakeWorker
from adapters.reminders.engine import ReminderEngine
from adapters.reminders.leader import leadership_for
from adapters.reminders.loop import ReminderLoop
from adapters.twilio.setup import twilio_component
from adapters.web.component import WebComponent
from bot.errors import ListenError
from config.settings import Settings

log = logging.getLogger("supportbot.run")


class MailStack:
    """The mail side of a running bot: durable intake, processing, outbound delivery."""

    def __init__(self, app: App) -> None:
        s = app.settings
        self.store = InboundStore(app.db, app.clock)
        app.mail.processed = app.metrics.processed
        self.worker = IntakeWorker(app.mail)
        self.store.on_stored = self.worker.notify
        self.presence = IntakePresence(app.db)
        relay = None
        if s.relay.host:
            relay = Relay(s.relay.host, s.relay.port, s.relay.username,
                          s.relay.password.get_secret_value() if s.relay.password else None,
                          s.relay.security, s.relay.timeout_seconds)
        self.sender = OutboxSender(app.db, app.clock, relay,
                                   interval=app.settings.relay.poll_seconds)
        self.sender.outbox.on_delivered = app.metrics.outbox_sent
        app.mail_queued.connect(self.sender.wake.set)
        self.worker.after = lambda _outcome: app.mail_queued()
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

    async def start(self, smtp_socket: socket.socket | None = None) -> None:
        self.store.start()
        self.worker.start()
        self.presence.hold()  # from now on `supportbot ingest` leaves its mail to this worker
        self.sender.start()
        if self.smtp is not None:
            await self.smtp.start(smtp_socket)
        if self.imap is not None:
            self.imap.start()

    async def stop(self) -> None:
        self.presence.release()  # before the worker stops: `ingest` processes its own again
        if self.smtp is not None:
            await self.smtp.stop()
        if self.imap is not None:
            await asyncio.to_thread(self.imap.stop)
        self.store.stop()
        self.worker.stop()
        self.sender.stop()


class WebStack:
    """The web app on uvicorn (``[web] enabled``) with its components; Slack in Socket Mode
    runs without it."""

    def __init__(self, app: App, inbound: InboundStore | None = None) -> None:
        """``inbound``: the mail stack's store, where the client status page's form is
        stored as the mail reply it stands for (no page without it)."""
        self.settings = app.settings
        self.components: list[WebComponent] = []
        if app.links is not None and inbound is not None:
            from adapters.web.client import ClientComponent

            self.components.append(ClientComponent(app, app.links, inbound.accept))
        if self.settings.slack.enabled:
            from adapters.slack.component import SlackComponent

            slack = SlackComponent(app)
            metrics = app.metrics
            slack.acknowledged = lambda route, s: metrics.slack_ack.labels(route).observe(s)
            slack.intake.inbox.processed = metrics.processed
            slack.sender.outbox.on_delivered = metrics.outbox_sent
            self.components.append(slack)
        if app.phone is not None:  # the P1 follow-up calls and on-call paging
            self.components.append(twilio_component(self.settings, app.phone, app.uow))
        if any(c.tracker is not None for c in self.settings.clients):
            from adapters.trackers.setup import tracker_component

            tracker = tracker_component(app)
            assert tracker is not None
            tracker.sender.outbox.on_delivered = app.metrics.outbox_sent
            self.components.append(tracker)
        self.open_tickets = None  # kept in memory for /metrics and the queue page
        if self.settings.web.enabled:
            from adapters.web.open_tickets import OpenTickets

            self.open_tickets = OpenTickets(app.uow, app.clock, app.helpdesk.policies)
        if self.settings.dashboard.enabled:  # the staff pages under /staff
            from adapters.web.dashboard import DashboardComponent

            self.components.append(DashboardComponent(app.db, app.uow, app.helpdesk,
                                                      self.settings.dashboard,
                                                      open_tickets=self.open_tickets,
                                                      app=app))
        self.server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        if self.settings.web.enabled:
            from adapters.web.app import create_app

            w = self.settings.web
            self.server = uvicorn.Server(uvicorn.Config(
                create_app(self.components, app.db, app.helpdesk, app.metrics,
                           self.open_tickets),
                host=w.host, port=w.port, timeout_graceful_shutdown=10,
                log_config=None, access_log=False, lifespan="on"))

    async def start(self, sock: socket.socket | None = None) -> None:
        """Start serving; on ``sock`` (bound already) if given."""
        if self.server is None:
            for c in self.components:
                await c.start()
            return
        self._task = asyncio.create_task(self.server.serve([sock] if sock else None),
                                         name="web")
        while not self.server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it (the port is taken, say)
                raise OSError("the web app stopped at start")
            await asyncio.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1] if self.server.servers \
            else self.settings.web.port
        log.info("web app listening", extra={"host": self.settings.web.host, "port": port})

    async def stop(self) -> None:
        if self.server is None:
            for c in reversed(self.components):
                await c.stop()
            return
        for c in self.components:  # end long-lived responses (the dashboard's event streams)
            quiesce = getattr(c, "quiesce", None)
            if quiesce is not None:
                quiesce()
        self.server.should_exit = True
        if self._task is not None:
            await self._task


async def serve(app: App, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set."""
    s = app.settings
    smtp_socket, web_socket = bind_listeners(s)  # first: a port in use leaves nothing to undo
    mail = MailStack(app)
    await mail.start(smtp_socket)
    web = WebStack(app, mail.store)
    await web.start(web_socket)
    scheduler = AsyncIOScheduler(timezone="UTC")
    running = _RunningJobs(scheduler)  # before start: the first runs are counted too
    reminders: ReminderLoop | None = None
    if s.scheduler.enabled:
        from adapters.maintenance import MaintenanceSweep, PolicyWatch

        sweep = MaintenanceSweep(app.maintenance, app.mail_queued, scheduler=scheduler)
        from adapters.waiting import WaitingSweep

        for job_id, job in (("maintenance", sweep),
                            ("policy-changes", PolicyWatch(app.policy_changes, app.mail_queued)),
                            ("waiting", WaitingSweep(app.helpdesk, app.mail_queued))):
            scheduler.add_job(job, "interval", seconds=s.scheduler.sweep_seconds, id=job_id,
                              next_run_time=app.clock.now(), coalesce=True, max_instances=1)
        engine = ReminderEngine(app.uow, app.clock, app.helpdesk.policies,
                                app.alert_sinks.for_reminders())
        engine.sent = app.metrics.reminder_sent
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
            # let a job that is running finish: shutting down cancels its future, which
            # APScheduler reports as the job failing (a traceback in the log at every stop)
            scheduler.pause()
            await running.finished(timeout=30)
            scheduler.shutdown(wait=False)
        await web.stop()
        if reminders is not None:
            reminders.stop()
        await mail.stop()
        log.info("supportbot stopped")


def bind_listeners(s: Settings) -> tuple[socket.socket | None, socket.socket | None]:
    """The SMTP and web sockets the settings ask for, bound and listening (None: not asked
    for); ListenError naming the key when one cannot be had."""
    smtp = (listening_socket(s.smtp.host, s.smtp.port, section="smtp", source=s.source)
            if s.smtp.enabled else None)
    try:
        web = (listening_socket(s.web.host, s.web.port, section="web", source=s.source)
               if s.web.enabled else None)
    except ListenError:
        if smtp is not None:
            smtp.close()
        raise
    return smtp, web


class _RunningJobs:
    """How many scheduler jobs are running, from the scheduler's own events."""

    def __init__(self, scheduler: AsyncIOScheduler) -> None:
        self.count = 0
        scheduler.add_listener(self._submitted, EVENT_JOB_SUBMITTED)
        scheduler.add_listener(self._done, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def _submitted(self, _event: object) -> None:
        self.count += 1

    def _done(self, _event: object) -> None:
        self.count -= 1

    async def finished(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


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
