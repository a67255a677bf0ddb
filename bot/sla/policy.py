"""A contract as the engine sees it: calendar, clocks, compliance, credits, deadlines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.model import EventKind
from bot.priority import Priority
from bot.sla.calendar import Calendar
from bot.sla.durations import WorkingDays, format_duration


@dataclass(frozen=True)
class ClockSpec:
    """A named clock: which events start, pause, resume, stop and reopen it, and its targets.

    A reopen event lets a stopped clock run on from the working time it had already used.
    A ``repeats`` clock (next response) runs again, from zero and with its whole target, at each
    start event after it stopped: each run is a *cycle* of its own (``bot.clocks.cycle_states``).
    A start while it runs changes nothing, nor does one while the ticket is resolved or closed.
    """

    name: str
    start: frozenset[EventKind]
    stop: frozenset[EventKind]
    targets: Mapping[Priority, timedelta]
    pause: frozenset[EventKind] = frozenset()
    resume: frozenset[EventKind] = frozenset()
    reopen: frozenset[EventKind] = frozenset()
    description: str = ""
    repeats: bool = False


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
class ReminderRule:
    """When to remind people about one clock at one priority, and whom.

    Thresholds count working time: ``shares`` of the target used (0.75: three quarters gone),
    ``before`` the target runs out (working time left), the breach itself, and repeats while
    breached every ``repeat_every`` (working time; wall time where reminders go out outside the
    service window). ``outside_window``: None means "only P1" (the default: P1 always).
    ``notify`` None means triage and the assignee, plus the on-call for P1. ``ladder``: who is
    told at each threshold, by its label (``50%``, ``30m-left``, ``breach``; the breach's
    repeats too); a threshold it does not name tells ``notify``'s recipients.
    """

    shares: tuple[float, ...] = (0.5, 0.75, 0.9)
    before: tuple[timedelta, ...] = ()
    breach: bool = True
    repeat_every: timedelta | None = None
    outside_window: bool | None = None
    notify: tuple[str, ...] | None = None
    ladder: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def always(self, priority: Priority) -> bool:
        """Whether reminders go out outside the service window for ``priority``."""
        return priority == Priority.P1 if self.outside_window is None else self.outside_window

    def targets(self, priority: Priority) -> tuple[str, ...]:
        if self.notify is not None:
            return self.notify
        return ("triage", "assignee", "oncall") if priority == Priority.P1 else \
            ("triage", "assignee")

    def targets_at(self, label: str, priority: Priority) -> tuple[str, ...]:
        """Who is told at the threshold ``label`` (``75%``, ``breach``) for ``priority``."""
        return dict(self.ladder).get(label) or self.targets(priority)

    def labels(self, target: timedelta) -> list[str]:
        """The labels of this rule's thresholds for a clock of ``target``."""
        out = [f"{s * 100:g}%" for s in self.shares]
        out += [f"{format_duration(b)}-left" for b in self.before if timedelta(0) < b < target]
        return out + (["breach"] if self.breach else [])


@dataclass(frozen=True)
class WaitingRule:
    """The waiting-for-the-client state (``[waiting]``): which clocks it pauses, and what
    happens after ``after`` (working days, or working time) with no answer: a nudge to the
    client at half of it (``nudge``), the ticket resolved by itself at the end (``resolve``)."""

    pauses: tuple[str, ...] = ()
    after: timedelta | WorkingDays | None = None
    nudge: bool = False
    resolve: bool = False


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
    reminders: Mapping[tuple[str, Priority], ReminderRule] = field(default_factory=dict)
    """The reminder rule per (clock, priority); a pair not listed gets ``ReminderRule()``."""
    slack_group_window: timedelta = timedelta(minutes=2)
    """Messages of one person in a support channel this close together make one ticket."""
    waiting: WaitingRule = WaitingRule()
    origins: Mapping[str, str] = field(default_factory=dict)
    """Which file set each key (``calendar.windows``, ``calendar.closed:2026-12-24``...), for a
    policy that ``extends`` another (``bot.sla.extends``)."""
    chain: tuple[str, ...] = ()
    """The files it was built from, the one it extends first, its own last."""

    def reminder_rule(self, clock: str, priority: Priority) -> ReminderRule:
        return self.reminders.get((clock, priority)) or ReminderRule()

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
