"""Alerts for the ``oncall`` target: a reminder reaches whoever is on call now by SMS (the first
number of the list or of the rota's current shift), and a P1's breach also pages them: calls
through the pager loop, as for a new P1 (nothing new when a page is active already)."""

from __future__ import annotations

from collections.abc import Callable

from bot.alerts import Alert
from bot.clock import Clock
from bot.phone.desk import PhoneDesk
from bot.phone.pages import start_page
from bot.ports import PhoneUnitOfWork
from bot.priority import Priority

BREACHES = ("breach",)  # the first breach only: its repeats do not page again


class OnCallSmsSink:
    name = "oncall-sms"

    def __init__(self, desk: PhoneDesk, clock: Clock,
                 uow: Callable[[], PhoneUnitOfWork] | None = None, limit: int = 480) -> None:
        self.desk = desk
        self.clock = clock
        self.uow = uow
        self.limit = limit

    def deliver(self, alert: Alert) -> None:
        if "oncall" not in alert.targets or self.desk.telephony is None:
            return
        numbers = self.desk.policy.oncall.numbers_at(self.clock.now())
        if not numbers:
            return
        first = alert.text.strip().splitlines()
        body = f"{alert.reference} {alert.priority}: " + " ".join(first)
        self.desk.telephony.sms(numbers[0], body[: self.limit])
        if alert.priority == Priority.P1 and alert.kind in BREACHES and alert.clock:
            self._page(alert, numbers)

    def _page(self, alert: Alert, numbers: tuple[str, ...]) -> None:
        """The P1's breach calls on-call too; recorded on the ticket in one transaction."""
        if self.uow is None:
            return
        now = self.clock.now()
        with self.uow() as uow:
            t = uow.tickets.get(alert.ticket_id, for_update=True)
            if t is not None and t.active and start_page(
                    uow, t, numbers, f"{alert.clock} breached", now):
                self.desk.helpdesk.publish(uow)
            uow.commit()
