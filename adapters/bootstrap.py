"""The composition root: settings in, a wired application out. Nothing is built at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from adapters.mail.batch import BatchIntake
from adapters.mail.parsepool import ProcessParser
from adapters.storage import Database, SqlUnitOfWork
from adapters.storage.writelock import write_lock
from adapters.system_clock import SystemClock
from adapters.twilio.setup import phone_desk
from bot.alerts import AlertSink
from bot.clock import Clock
from bot.mail.intake import MailIntake, MailPolicy
from bot.mail.notify import MailNotifier
from bot.mail.parse import Limits
from bot.phone.desk import PhoneDesk
from bot.policies import PolicyBook
from bot.policy_changes import PolicyChanges
from bot.reminders import ReplanListener
from bot.reports.approval import Approvals
from bot.services import Helpdesk, Listener
from config.settings import Settings


@dataclass
class App:
    settings: Settings
    db: Database
    helpdesk: Helpdesk
    clock: Clock
    mail: BatchIntake
    phone: PhoneDesk | None = None
    alert_sinks: list[AlertSink] = field(default_factory=list)
    """Where alerts go besides the log and mail: Slack's triage thread, on-call by SMS."""

    def close(self) -> None:
        if isinstance(self.mail.parser, ProcessParser):
            self.mail.parser.close()
        self.db.dispose()


def open_database(settings: Settings) -> Database:
    """The configured database, not yet checked or upgraded."""
    s = settings.storage
    return Database(s.url, schema=s.schema_, echo=s.echo)


def mail_policy(settings: Settings) -> MailPolicy:
    m = settings.mail
    return MailPolicy(
        own_addresses=frozenset(a.lower() for a in (*m.support_addresses, m.sender)),
        sender=m.sender, unknown_senders=m.unknown_senders, phone_number=m.phone_number,
        ack_limit_per_hour=m.ack_limit_per_hour,
        reopen_within=timedelta(hours=m.reopen_within_hours),
        limits=Limits(max_attachment_bytes=m.max_attachment_bytes),
    )


def bootstrap(settings: Settings, *, clock: Clock | None = None, upgrade: bool | None = None,
              sync_directory: bool = True) -> App:
    """Open storage (upgrading the schema if allowed), build the services, sync clients/staff."""
    db = open_database(settings)
    if settings.storage.auto_upgrade if upgrade is None else upgrade:
        db.upgrade()
    db.check()
    clock = clock or SystemClock()

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(db)

    notifier = MailNotifier(settings.mail.sender, settings.mail.reopen_within_hours)
    listeners: list[Listener] = [notifier, ReplanListener()]
    if settings.slack.enabled:
        from adapters.slack.notify import SlackNotifier

        listeners.append(SlackNotifier(settings.slack.triage_channel))
    helpdesk = Helpdesk(uow, clock, PolicyBook(settings.policies.default,
                                               settings.policies.paths), listeners)
    if sync_directory:
        helpdesk.sync_directory(settings.client_objects(), settings.staff_objects())
    sinks: list[AlertSink] = []
    if settings.slack.enabled:  # phone alerts (follow-up missing, nobody took the page)
        from adapters.slack.alerts import SlackAlertSink

        sinks.append(SlackAlertSink(db, settings.slack.bot_token.get_secret_value(),
                                    settings.slack.base_url, settings.slack.triage_channel))
    phone = phone_desk(settings, helpdesk, uow, clock, sinks)
    sender = settings.mail.sender
    intake = MailIntake(helpdesk, uow, clock, mail_policy(settings), replies=(
        Approvals(uow, clock, helpdesk.policies, sender),
        PolicyChanges(uow, clock, helpdesk.policies, sender)))
    processes = settings.mail.parse_processes
    mail = BatchIntake(intake, uow, parser=ProcessParser(processes) if processes else None)
    lock = write_lock(db)
    if lock is not None:  # SQLite: a batch holds the only write lock; let a waiting writer in
        mail.yield_to = lambda: lock.queued > 0
    if phone is not None:
        from adapters.twilio.alerts import OnCallSmsSink

        sinks.append(OnCallSmsSink(phone, clock))
    return App(settings, db, helpdesk, clock, mail, phone, sinks)
