"""Paging on-call for a P1: whom to call, when to call again, when to move to the next number.

A page walks its numbers in order, calling each up to ``attempts_per_number`` times with
``interval`` between the end of one attempt and the next; an SMS goes with every attempt.
Pressing 1 on any call takes the page and stops it. When the last attempt has had its chance
the page is exhausted. The numbers are fixed when the page starts (an ordered list, or the
shift of a weekly rota that is on at that moment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.phone.status import is_final

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHIFT = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)\s+([01]\d|2[0-3]):([0-5]\d)$")


def shift_start(text: str) -> tuple[int, time]:
    """``"mon 09:00"`` -> (0, 09:00); ValueError naming the expected form otherwise."""
    m = _SHIFT.match(text.strip().lower())
    if not m:
        raise ValueError(f"{text!r} is not a shift start (expected e.g. 'mon 09:00')")
    return WEEKDAYS.index(m.group(1)), time(int(m.group(2)), int(m.group(3)))


@dataclass(frozen=True)
class Shift:
    """From ``weekday`` (0 = Monday) at ``start`` until the next shift starts."""

    weekday: int
    start: time
    numbers: tuple[str, ...]

    def minute_of_week(self) -> int:
        return self.weekday * 24 * 60 + self.start.hour * 60 + self.start.minute


@dataclass(frozen=True)
class OnCall:
    """Who is paged and how (from the ``[oncall]`` settings)."""

    numbers: tuple[str, ...] = ()
    rota: tuple[Shift, ...] = ()
    timezone: str = "UTC"
    interval: timedelta = timedelta(minutes=5)
    attempts_per_number: int = 2
    sms: bool = True
    answer_timeout: timedelta = timedelta(minutes=3)
    """How long a placed call may go without a final status before the page moves on anyway
    (a lost status callback must not stop the paging)."""

    def numbers_at(self, now: datetime) -> tuple[str, ...]:
        """The numbers to page at ``now``: the list, or the rota's shift on at ``now``."""
        if not self.rota:
            return self.numbers
        local = now.astimezone(ZoneInfo(self.timezone))
        minute = local.weekday() * 24 * 60 + local.hour * 60 + local.minute
        shifts = sorted(self.rota, key=Shift.minute_of_week)
        current = shifts[-1]  # before the week's first shift: the last one of last week
        for s in shifts:
            if s.minute_of_week() <= minute:
                current = s
        return current.numbers


@dataclass(frozen=True)
class AttemptState:
    """One call of a page as stored: its position, number, and the call's status so far."""

    n: int
    number: str
    placed_at: datetime
    status: str | None = None
    """The call's status; None until Twilio reports one; ``not-placed`` if placing failed."""
    status_at: datetime | None = None


@dataclass(frozen=True)
class Call:
    n: int
    number: str
    attempt: int
    """1-based: the how-manieth call to this number."""
    of: int


@dataclass(frozen=True)
class Wait:
    until: datetime


@dataclass(frozen=True)
class Exhausted:
    attempts: int


Step = Call | Wait | Exhausted


def next_step(numbers: tuple[str, ...], attempts: list[AttemptState], oncall: OnCall,
              now: datetime) -> Step:
    """What a page that nobody has taken does next at ``now``."""
    total = len(numbers) * oncall.attempts_per_number
    if total == 0:
        return Exhausted(0)
    if attempts:
        last = max(attempts, key=lambda a: a.n)
        if last.status == "not-placed" or is_final("call", last.status):
            ready = (last.status_at or last.placed_at) + oncall.interval
        else:
            ready = last.placed_at + oncall.answer_timeout + oncall.interval
        if now < ready:
            return Wait(ready)
        n = last.n + 1
    else:
        n = 0
    if n >= total:
        return Exhausted(total)
    per = oncall.attempts_per_number
    return Call(n, numbers[n // per], n % per + 1, per)


def page_text(reference: str, client: str, subject: str) -> str:
    """What the person on call hears (and reads in the SMS) about the ticket."""
    who = f" for {client}" if client else ""
    return f"Priority 1 incident {spell_reference(reference)}{who}: {subject[:150]}."


def spell_reference(reference: str) -> str:
    """``T-1042`` read out digit by digit, so text-to-speech does not say 'one thousand'."""
    prefix, _, digits = reference.partition("-")
    return f"{prefix} {' '.join(digits)}" if digits.isdigit() else reference

