"""Alerts for the ``oncall`` target by SMS: a P1's deadline reminders reach whoever is on call
now (the first number of the list or of the rota's current shift)."""

from __future__ import annotations

from bot.alerts import Alert
from bot.clock import Clock
from bot.phone.desk import PhoneDesk


class OnCallSmsSink:
    name = "oncall-sms"

    def __init__(self, desk: PhoneDesk, clock: Clock, limit: int = 480) -> None:
        self.desk = desk
        self.clock = clock
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
