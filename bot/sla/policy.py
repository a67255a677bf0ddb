"""A contract as the engine sees it: calendar, clocks, compliance, credits, deadlines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.model import EventKind
from bot.priority import Priority
from bot.sla.calendar import Calendar
from bot.sla.durations import WorkingDays


@dataclass(frozen=True)
class ClockSpec:
    """A named clock: which events start, pause, resume, stop and reopen it, and its targets.

    A reopen event lets a stopped clock run on from the working time it had already used.
    """

    name: str
    start: frozenset[EventKind]
    stop: frozenset[EventKind]
    targets: Mapping[Priority, timedelta]
    pause: frozenset[EventKind] = frozenset()
    resume: frozenset[EventKind] = frozenset()
    reopen: frozenset[EventKind] = frozenset()
    description: str = ""


@dataclass(frozen=True)
class CreditRule:
    """``share`` of the period's invoice for each breach of ``clock`` (for ``priorities``) beyond
    the first ``free_breaches`` in one invoicing period."""

    clock: str
    priorities: frozenset[Priority]
    share: float
    free_breaches: int = 1


@dataclass(frozen=True)
class Compliance:
    """How compliance is measured: per period, the share of tickets meeting each clock."""

    period: str  # "biweekly", "monthly", "quarterly" or "yearly"
    anchor: date  # periods are counted from here (a sprint start for biweekly)
    targets: Mapping[str, float]
    open_at_period_end: str = "breached-if-late-else-carried"


@dataclass(frozen=True)
class Policy:
    """One contract, loaded from a policy file. ``version`` identifies the exact file content."""

    name: str
    title: str
    version: str
    source: str
    calendar: Calendar
    clocks: Mapping[str, ClockSpec]
    compliance: Compliance
    priority_set_by: str = "client"  # "client": the client's assessment decides; "provider"
    default_priority: Priority = Priority.P3
    phone_followup: frozenset[Priority] = frozenset({Priority.P1})
    credits: tuple[CreditRule, ...] = ()
    deadlines: Mapping[str, timedelta | WorkingDays] = field(default_factory=dict)
    maintenance_notice: timedelta | WorkingDays | None = None
    """Minimum notice for maintenance: hours ahead (``72h``), or working days of the calendar
    (``3wd``: not before the close of the third working day after the announcement)."""
    availability_target: float | None = None
    change_approval: bool = False
    """A change of this policy file waits for a client contact's approval (``[changes]``)."""
    placeholders: tuple[str, ...] = ()
    document: str = ""

    def clock(self, name: str) -> ClockSpec:
        try:
            return self.clocks[name]
        except KeyError:
            known = ", ".join(self.clocks)
            raise KeyError(f"policy {self.name} has no clock {name!r} (it has: {known})") from None

    def target(self, priority: Priority | str, clock: str) -> timedelta:
        return self.clock(clock).targets[Priority.parse(str(priority))]

    def deadline(self, priority: Priority | str, clock: str, start: datetime) -> datetime:
        """When ``clock`` is due for a ticket of ``priority`` whose clock started at ``start``."""
        return self.calendar.add(start, self.target(priority, clock))

    def working_day_deadline(self, name: str, start: datetime) -> datetime:
        """A contract deadline such as ``change_request_response`` (``10wd``) from ``start``."""
        try:
            target = self.deadlines[name]
        except KeyError:
            known = ", ".join(self.deadlines) or "none"
            raise KeyError(f"policy {self.name} has no deadline {name!r} (it has: {known})") \
                from None
        return self.calendar.due(start, target)

    def is_placeholder(self, key: str) -> bool:
        """Whether ``key`` (e.g. ``clocks.response.targets``) holds values still to fill in."""
        return any(key == p or key.startswith(p + ".") for p in self.placeholders)
