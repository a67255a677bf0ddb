"""Where alerts go: the log (always) and mail through the outbox (when configured).

``AlertSinks`` is the one registry of sinks; the composition root fills it (Slack's triage
thread and assignee, the on-call by SMS for ``oncall`` targets). Every sink gets every alert
and delivers to the targets it can reach.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence

from bot.alerts import Alert, AlertSink, direct_people
from bot.clock import Clock
from bot.mail import compose
from bot.model import Staff
from bot.ports import UnitOfWork

log = logging.getLogger("supportbot.alerts")


class LogSink:
    """Every alert as one log line: WARNING for breaches, INFO for reminders."""

    name = "log"

    def deliver(self, alert: Alert) -> None:
        level = logging.INFO if alert.kind == "reminder" else logging.WARNING
        log.log(level, alert.kind, extra={
            "key": alert.key, "ticket": alert.reference, "clock": alert.clock,
            "priority": alert.priority, "due": alert.due.isoformat() if alert.due else "-",
            "late": alert.late, "targets": ",".join(alert.targets),
            "assignee": alert.assignee or "-", "text": " / ".join(alert.text.splitlines())})


class MailSink:
    """Alerts by mail, queued in the outbox (sent through the relay, retried there): the
    ``triage`` target goes to the configured addresses, ``assignee`` to the assignee's staff
    address when ``mail_assignee`` is on, and those the alert tells directly
    (``bot.alerts.direct_people``: a ladder step for the assignee alone, managers) to theirs.
    One mail per alert, each address once; queueing is idempotent by the alert's key."""

    name = "mail"

    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock, sender: str,
                 triage: Sequence[str] = (), mail_assignee: bool = False,
                 on_queued: Callable[[], None] | None = None) -> None:
        self._uow = uow
        self.clock = clock
        self.sender = sender
        self.triage = tuple(triage)
        self.mail_assignee = mail_assignee
        self.on_queued = on_queued

    def recipients(self, alert: Alert, staff: Sequence[Staff]) -> list[str]:
        to = list(self.triage) if "triage" in alert.targets else []
        staff_email = {s.name: s.email for s in staff if s.email}
        if self.mail_assignee and "assignee" in alert.targets and alert.assignee:
            email = staff_email.get(alert.assignee)
            if email:
                to.append(email)
        to += [s.email for s in direct_people(alert, staff) if s.email]
        return list(dict.fromkeys(a for a in to if compose.safe_address(a)))

    def deliver(self, alert: Alert) -> None:
        with self._uow() as uow:
            to = self.recipients(alert, uow.staff.list())
            if not to:
                return
            what = "Breached" if alert.kind != "reminder" else "Due soon"
            mail = compose.alert_mail(
                to=to, sender=self.sender, reference=alert.reference,
                subject=f"{what}: {alert.clock} ({alert.priority}) {alert.data.get('subject', '')}",
                text=alert.text, key=alert.key, at=self.clock.now(), ticket_id=alert.ticket_id)
            added = uow.outbox.add(mail, at=self.clock.now())
            uow.commit()
        if added and self.on_queued is not None:
            self.on_queued()


REMINDERS = "reminders"
"""Deadline reminders and breaches, from the reminder engine."""
PHONE = "phone"
"""The phone desk's own alerts: follow-up missing, nobody on call took the page."""


class AlertSinks:
    """The one registry of where alerts go, filled by the composition root: each sink with the
    sources it serves, in the order it was added. Every sink of a source gets every alert of
    it and delivers to the targets it can reach."""

    def __init__(self) -> None:
        self._sinks: list[tuple[AlertSink, frozenset[str]]] = []

    def add(self, sink: AlertSink, *sources: str) -> None:
        """Register ``sink`` for these sources (default: reminders only)."""
        self._sinks.append((sink, frozenset(sources or (REMINDERS,))))

    def of(self, source: str) -> list[AlertSink]:
        return [sink for sink, sources in self._sinks if source in sources]

    def for_reminders(self) -> list[AlertSink]:
        return self.of(REMINDERS)

    def for_phone(self) -> list[AlertSink]:
        return self.of(PHONE)

    def live(self, source: str) -> SinksOf:
        """The sinks of ``source`` as registered when iterated: a consumer built before a
        sink is added (the phone desk, before the on-call SMS sink that needs the desk)
        still reaches it."""
        return SinksOf(self, source)

    def __iter__(self) -> Iterator[AlertSink]:
        return iter(self.for_reminders())


class SinksOf(Iterable[AlertSink]):
    """A live view of one source's sinks in an :class:`AlertSinks` (see ``AlertSinks.live``)."""

    def __init__(self, registry: AlertSinks, source: str) -> None:
        self.registry = registry
        self.source = source

    def __iter__(self) -> Iterator[AlertSink]:
        return iter(self.registry.of(self.source))

    def __repr__(self) -> str:
        return f"SinksOf({self.source!r}: {[s.name for s in self]})"
