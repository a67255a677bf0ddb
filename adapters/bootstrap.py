"""The composition root: settings in, a wired application out. Nothing is built at import time,
and nothing wires itself: every service gets its unit-of-work factory, listeners and alert
sinks here. ``supportbot run`` (``adapters/runner.py``) adds only what runs (servers, loops)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from adapters.reminders.sinks import PHONE, REMINDERS, AlertSinks, LogSink, MailSink
from adapters.storage import SCHEMA_VERSION, Database, UnitOfWorks
from adapters.storage.writelock import write_lock
from adapters.system_clock import SystemClock
from bot.clock import Clock
from bot.links import ClientLinks
from bot.mail.notify import MailNotifier
from bot.mail.quarantine import Quarantine
from bot.maintenance import Maintenance
from bot.phone.desk import PhoneDesk
from bot.policies import PolicyBook
from bot.policy_changes import PolicyChanges
from bot.reminders import ReplanListener
from bot.reports.approval import Approvals
from bot.reports.invoices import Invoicing
from bot.reports.service import Reporting
from bot.services import Helpdesk, Listener
from config.settings import Settings

if TYPE_CHECKING:  # the mail pipeline is imported when first used (``App.mail``)
    from adapters.mail.batch import BatchIntake
    from adapters.metrics import Metrics
    from bot.mail.intake import MailPolicy, Outcome


class Signal:
    """"Something was queued": the producers built here call it; whatever delivers (the outbox
    sender, the Slack sender, started by ``supportbot run``) is connected to it there."""

    def __init__(self) -> None:
        self._receivers: list[Callable[[], None]] = []

    def connect(self, receiver: Callable[[], None]) -> None:
        self._receivers.append(receiver)

    def __call__(self) -> None:
        for receiver in list(self._receivers):
            receiver()


@dataclass
class App:
    settings: Settings
    db: Database
    uow: UnitOfWorks
    clock: Clock
    helpdesk: Helpdesk
    build_mail: Callable[[], BatchIntake]
    """Builds the mail intake; ``mail`` calls it once, when first used: commands that take
    no mail (``tickets list``) do not import the parser, loop detection and the steps."""
    phone: PhoneDesk | None
    alert_sinks: AlertSinks
    """Where alerts go: the log, mail, Slack's triage thread, on-call by SMS."""
    maintenance: Maintenance
    policy_changes: PolicyChanges
    reporting: Reporting
    approvals: Approvals
    quarantine: Quarantine[Outcome]
    mail_queued: Signal
    """Called when mail was queued in the outbox (wakes its sender)."""
    slack_queued: Signal
    """Called when Slack work was queued (wakes the Slack sender)."""
    links: ClientLinks | None = None
    """The signed client links (status page, rating); None when not configured."""
    tracker_queued: Signal = field(default_factory=Signal)
    """Called when tracker work was queued (wakes the tracker sender)."""
    _mail: BatchIntake | None = field(default=None, init=False, repr=False)
    _metrics: Metrics | None = field(default=None, init=False, repr=False)

    @property
    def invoicing(self) -> Invoicing:
        """Invoices of the reports sent for approval (``supportbot invoices``)."""
        return Invoicing(self.approvals.list,
                         lambda sent: self.reporting.report(sent.client, sent.period))

    @property
    def mail(self) -> BatchIntake:
        if self._mail is None:
            self._mail = self.build_mail()
        return self._mail

    @property
    def metrics(self) -> Metrics:
        """The app's own Prometheus registry and what is observed into it, built when first
        used (by ``supportbot run``): the command line never imports prometheus-client."""
        if self._metrics is None:
            from adapters.metrics import Metrics

            self._metrics = Metrics()
        return self._metrics

    def close(self) -> None:
        if self._mail is not None:
            from adapters.mail.parsepool import ProcessParser

            if isinstance(self._mail.parser, ProcessParser):
                self._mail.parser.close()
        self.db.dispose()


def open_database(settings: Settings) -> Database:
    """The configured database, not yet checked or upgraded."""
    s = settings.storage
    return Database(s.url, schema=s.schema_, echo=s.echo)


def client_links(settings: Settings) -> ClientLinks | None:
    """The signed client links, when a secret is set and the web app serves them at its
    public URL (``config check`` names what is missing otherwise)."""
    c, w = settings.client_links, settings.web
    if c.secret is None or not (w.enabled and w.public_url):
        return None
    return ClientLinks(c.secret.get_secret_value().encode("utf-8"), w.public_url,
                       status_days=c.status_days, rating_days=c.rating_days)


def mail_policy(settings: Settings) -> MailPolicy:
    from bot.mail.intake import MailPolicy
    from bot.mail.parse import Limits

    m = settings.mail
    return MailPolicy(
        own_addresses=frozenset(a.lower() for a in (*m.support_addresses, m.sender)),
        sender=m.sender, unknown_senders=m.unknown_senders, phone_number=m.phone_number,
        ack_limit_per_hour=m.ack_limit_per_hour,
        reopen_within=timedelta(hours=m.reopen_within_hours), late_reply=m.late_reply,
        limits=Limits(max_attachment_bytes=m.max_attachment_bytes),
        links=client_links(settings),
    )


def bootstrap(settings: Settings, *, clock: Clock | None = None, upgrade: bool | None = None,
              sync_directory: bool = True) -> App:
    """Open storage (upgrading the schema if allowed), build the services, sync clients/staff."""
    db = open_database(settings)
    allowed = settings.storage.auto_upgrade if upgrade is None else upgrade
    # a read first: a current schema (the usual case) costs no write transaction
    if allowed and db.current_version() != SCHEMA_VERSION:
        db.upgrade()
    db.check()
    clock = clock or SystemClock()
    uow = UnitOfWorks(db)
    mail_queued, slack_queued = Signal(), Signal()
    s = settings
    links = client_links(s)

    listeners: list[Listener] = [MailNotifier(s.mail.sender, s.mail.reopen_within_hours,
                                              s.mail.team_name, links=links),
                                 ReplanListener()]
    if s.slack.enabled:
        from adapters.slack.notify import SlackNotifier

        listeners.append(SlackNotifier(s.slack.triage_channel, on_queued=slack_queued,
                                       phone_number=s.mail.phone_number))
    tracker_queued = Signal()
    trackers = {c.name: c.tracker.kind for c in s.clients if c.tracker is not None}
    if trackers:  # each client's Jira, Trello or Asana mirrors its tickets
        from adapters.trackers.notify import TrackerNotifier

        listeners.append(TrackerNotifier(trackers, on_queued=tracker_queued))
    policies = PolicyBook(s.policies.default, s.policies.paths)
    helpdesk = Helpdesk(uow, clock, policies, listeners)
    if sync_directory:
        helpdesk.sync_directory(s.client_objects(), s.staff_objects())

    sinks = AlertSinks()
    sinks.add(LogSink(), REMINDERS, PHONE)
    # mail for the triage addresses, and for staff a reminder step tells directly (the ladder)
    if s.reminders.mail_to or s.reminders.mail_assignee or any(p.email for p in s.staff):
        sinks.add(MailSink(uow, clock, s.mail.sender, s.reminders.mail_to,
                           s.reminders.mail_assignee, on_queued=mail_queued), REMINDERS)
    if s.slack.enabled:  # the ticket's triage thread, mentioning the assignee
        from adapters.slack.alerts import SlackAlertSink

        sinks.add(SlackAlertSink(uow, clock, s.slack.triage_channel, on_queued=slack_queued),
                  REMINDERS, PHONE)
    if trackers:  # a breach puts the "breached" label on the item
        from adapters.trackers.notify import TrackerBreachSink

        sinks.add(TrackerBreachSink(uow, clock, trackers, on_queued=tracker_queued), REMINDERS)
    # the desk delivers to the phone sinks registered when it alerts, not when it was built:
    # the on-call SMS sink needs the desk, so it is added after it
    phone = None
    if s.twilio.enabled:  # vendor adapters are imported only when enabled
        from adapters.twilio.setup import phone_desk

        phone = phone_desk(settings, helpdesk, uow, clock, sinks.live(PHONE))
    if phone is not None:  # a P1 from any process is paged
        from adapters.twilio.alerts import OnCallSmsSink

        helpdesk.listeners.append(phone)
        # a P1's reminders and the desk's own `page` alert (nobody took it) reach on-call
        sinks.add(OnCallSmsSink(phone, clock, uow), REMINDERS, PHONE)

    sender = s.mail.sender
    approvals = Approvals(uow, clock, policies, sender)
    policy_changes = PolicyChanges(uow, clock, policies, sender)

    def build_mail() -> BatchIntake:
        from adapters.mail.batch import BatchIntake
        from adapters.mail.parsepool import ProcessParser
        from bot.mail.intake import MailIntake

        intake = MailIntake(helpdesk, uow, clock, mail_policy(settings),
                            replies=(approvals, policy_changes))
        processes = s.mail.parse_processes
        mail = BatchIntake(intake, uow, parser=ProcessParser(processes) if processes else None)
        lock = write_lock(db)
        if lock is not None:  # SQLite: a batch holds the only write lock; let a waiting writer in
            mail.yield_to = lambda: lock.queued > 0
        return mail
    post = None
    if s.slack.enabled:
        from adapters.maintenance import SlackPost

        post = SlackPost(s.slack.triage_channel)
    app = App(
        settings, db, uow, clock, helpdesk, build_mail, phone, sinks,
        maintenance=Maintenance(uow, clock, policies, sender, post),
        policy_changes=policy_changes,
        reporting=Reporting(uow.reader, clock, policies),
        approvals=approvals,
        quarantine=Quarantine(uow, clock, lambda inbound_id: app.mail.process(inbound_id),
                              read=uow.reader),
        mail_queued=mail_queued, slack_queued=slack_queued, links=links,
        tracker_queued=tracker_queued)
    return app
