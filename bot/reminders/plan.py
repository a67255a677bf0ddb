"""Which reminders a ticket has, and when each goes out.

Every threshold counts working time, like the clocks: a share of the target used, an amount of
working time left, the breach, then repeats while breached. Only running clocks have reminders
(a paused clock has no instants, a met one nothing left to chase). A reminder outside the
service window moves to the next opening unless the policy lets it go out at any hour (P1 by
default). Like APScheduler's triggers, nothing here reads a clock: ``now`` is an argument.

A ticket imported from a mailbox's history (``supportbot import``) has no reminders for the
clocks that came due before its import: those deadlines passed in the past, and an old P1
must not call on-call now; a clock due after the import is reminded as any other.

Keys are ``T-1042/response/P1-75%/0``: ticket, clock, priority and threshold, repeat number;
a repeating clock's cycle is part of the clock (``T-1042/next_response#2/P1-75%/0``).
The priority is part of the threshold because the target depends on it: after a change of
priority the new target's thresholds are new reminders, and ones already sent stay sent.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.clocks import ClockState, derive_clocks, phase, reached_at
from bot.model import Event, EventKind
from bot.priority import Priority
from bot.sla.calendar import Calendar
from bot.sla.durations import format_duration
from bot.sla.policy import ClockSpec, Policy, ReminderRule

LATE_AFTER = timedelta(seconds=60)
"""A reminder that goes out more than this after its time is marked late."""

_TICK = timedelta(microseconds=1)
MISSED_REPEATS = 500
"""At most this many breach repeats missed before the latest one are planned (to be recorded as
superseded): a bound on the work for a clock breached long ago whose policy just got repeats."""


@dataclass(frozen=True)
class Reminder:
    key: str
    ticket_id: int
    clock: str
    priority: Priority
    threshold: str
    """``P1-75%``, ``P1-30m-left``, ``P1-breach``."""
    repeat: int
    kind: str
    """``reminder``, ``breach`` or ``breach-repeat``."""
    reached: datetime
    """When the threshold is (or was) reached, aware UTC."""
    due_at: datetime
    """When it was meant to go out: ``reached``, or the next opening after it."""
    at: datetime
    """When it can go out as of the planning instant: ``due_at`` if that is still ahead."""
    order: int
    """Position in its clock's sequence: a later reminder supersedes an earlier one."""

    def late(self, now: datetime) -> bool:
        return now - self.due_at > LATE_AFTER


@dataclass(frozen=True)
class Decision:
    """What to do for one ticket at ``now``, given the keys already recorded."""

    send: tuple[Reminder, ...]
    skip: tuple[tuple[Reminder, str], ...]
    """Due but superseded by a later threshold of the same clock (one message, not a backlog)."""
    next_at: datetime | None
    """The earliest instant a not yet recorded reminder goes out, if any."""


def next_opening(cal: Calendar, t: datetime) -> datetime:
    """``t`` if it is inside a service window, else the start of the next one (aware UTC)."""
    # add() finds the earliest instant with that much working time after t: one microsecond
    # of working time lands one microsecond into the next (or current) window.
    return (cal.add(t, _TICK) - _TICK).astimezone(UTC)


def _label(share: float) -> str:
    return f"{share * 100:g}%"


_THRESHOLDS: dict[tuple[str, str, str, Priority, timedelta],
                  list[tuple[timedelta, str, str]]] = {}


def _thresholds(policy: Policy, spec: ClockSpec, priority: Priority,
                rule: ReminderRule) -> list[tuple[timedelta, str, str]]:
    """(working time used, label, kind), in order, one per distinct amount. The same for every
    ticket of a policy, clock, priority and target, so kept per policy version (a change
    request's target depends on the day it was filed: it is part of the key)."""
    target = spec.targets[priority]
    cache_key = (policy.name, policy.version, spec.name, priority, target)
    found = _THRESHOLDS.get(cache_key)
    if found is not None:
        return found
    amounts: dict[timedelta, tuple[str, str]] = {}
    for s in rule.shares:
        amounts.setdefault(target * s, (_label(s), "reminder"))
    for b in rule.before:
        if timedelta(0) < b < target:
            amounts.setdefault(target - b, (f"{format_duration(b)}-left", "reminder"))
    if rule.breach:
        amounts[target] = ("breach", "breach")
    found = [(amount, label, kind) for amount, (label, kind) in sorted(amounts.items())]
    _THRESHOLDS[cache_key] = found
    return found


def plan_ticket(ticket_id: int, reference: str, priority: Priority, policy: Policy,
                events: Sequence[Event], now: datetime, *, specs: Mapping[str, ClockSpec],
                clocks: dict[str, ClockState] | None = None,
                done: Container[str] | None = None) -> list[Reminder]:
    """The reminders of every running clock of a ticket: each threshold (past ones too, with the
    instant they were reached), the repeats already due (the latest goes out, earlier ones not
    recorded yet are superseded by it) and the next one ahead.
    ``specs``: the clocks the ticket runs (``bot.change_requests.clock_specs``).

    With ``done`` (the keys recorded already) the list is cut to what ``decide`` needs, which
    gives the same decision for a fraction of the calendar work: past thresholds only if one
    of them is not recorded, future ones up to the first not recorded.
    """
    ordered = sorted(events, key=lambda e: (e.at, e.id or 0))
    if clocks is None:
        clocks = derive_clocks(specs, policy, priority, ordered, now)
    cal = policy.calendar
    history = imported_at(ordered)
    out: list[Reminder] = []
    for name, state in clocks.items():
        if not state.running or state.due is None:
            continue
        if history is not None and state.due <= history:
            continue  # came due before the ticket was imported: history, nobody is reminded
        spec = specs[name]
        rule = policy.reminder_rule(name, priority)
        always = rule.always(priority)
        prefix = f"{reference}/{_cycle_name(name, state.cycle)}/{priority}-"

        def make(label: str, kind: str, repeat: int, reached: datetime, order: int,
                 name: str = name, always: bool = always, prefix: str = prefix) -> Reminder:
            due_at = reached if always else next_opening(cal, reached)
            at = due_at if due_at > now else (now if always else next_opening(cal, now))
            return Reminder(f"{prefix}{label}/{repeat}", ticket_id, name, priority,
                            f"{priority}-{label}", repeat, kind, reached, due_at, at, order)

        ths = _thresholds(policy, spec, priority, rule)
        # repeats while breached: only the latest one already due (earlier ones would be a
        # backlog) and the next one
        every = rule.repeat_every if rule.breach else None
        due = state.due
        past = 0
        if every is not None:
            if always:
                past = int((now - due) / every) if now >= due else 0
            else:
                past = int(cal.working_time(due, now) / every)
        past_keys = [f"{prefix}{label}/0" for amount, label, _ in ths if amount <= state.used]
        if past >= 1:
            past_keys.append(f"{prefix}breach/{past}")
        with_past = done is None or any(k not in done for k in past_keys)
        order = 0
        cut = False
        for order, (amount, label, kind) in enumerate(ths):
            if amount <= state.used:
                if not with_past:
                    continue
                reached = (due if kind == "breach" else
                           reached_at(spec, policy, ordered, amount, now)) or now
            else:
                reached = due if kind == "breach" else \
                    cal.add(now, amount - state.used).astimezone(UTC)
            r = make(label, kind, 0, reached, order)
            out.append(r)
            if amount > state.used and done is not None and r.key not in done:
                cut = True  # the first future one not recorded: enough to know when to wake
                break
        if cut or every is None:
            continue
        if with_past:  # repeats missed before the latest one: to record as superseded by it
            missed: list[Reminder] = []
            for n in range(past - 1, max(0, past - 1 - MISSED_REPEATS), -1):
                if done is not None and f"{prefix}breach/{n}" in done:
                    break  # recorded in order: the ones before it are recorded too
                reached = due + n * every if always else cal.add(due, n * every).astimezone(UTC)
                missed.append(make("breach", "breach-repeat", n, reached, order + n))
            out += reversed(missed)
        for n in (past, past + 1):
            if n < 1 or (n == past and not with_past):
                continue
            reached = due + n * every if always else cal.add(due, n * every).astimezone(UTC)
            r = make("breach", "breach-repeat", n, reached, order + n)
            out.append(r)
            if reached > now and done is not None and r.key not in done:
                break
    return out


def _cycle_name(clock: str, cycle: int) -> str:
    """The clock in a reminder key: ``next_response#3`` for the third cycle of a repeating
    clock, so each cycle's thresholds are reminders of their own."""
    return f"{clock}#{cycle}" if cycle else clock


def imported_at(events: Sequence[Event]) -> datetime | None:
    """When the ticket was imported from a mailbox's history, if it was."""
    return next((e.at for e in events if e.kind == EventKind.IMPORTED), None)


NOTHING = "nothing"
PLAN = "plan"


def earliest(reference: str, priority: Priority, policy: Policy, events: Sequence[Event],
             done: Container[str], now: datetime, *,
             specs: Mapping[str, ClockSpec]) -> datetime | str:
    """A cheap lower bound for the ticket's next reminder, without calendar work: working time
    never runs faster than the wall clock, so a threshold of ``amount`` cannot be reached
    before the clock's first start plus ``amount``. Returns that instant if it is still ahead
    (plan precisely then), ``NOTHING`` if no clock runs, or ``PLAN`` when only precise
    planning can tell (something may be due now, or a repeat while breached is next)."""
    ordered = sorted((e for e in events if e.at <= now), key=lambda e: (e.at, e.id or 0))
    best: datetime | None = None
    for name, spec in specs.items():
        state, first, cycle = phase(spec, ordered)
        if state != "running" or first is None:
            continue
        rule = policy.reminder_rule(name, priority)
        prefix = f"{reference}/{_cycle_name(name, cycle)}/{priority}-"
        nxt = next((amount for amount, label, _ in _thresholds(policy, spec, priority, rule)
                    if f"{prefix}{label}/0" not in done), None)
        if nxt is None:
            if rule.breach and rule.repeat_every is not None:
                return PLAN
            continue
        bound = first + nxt
        if bound <= now:
            return PLAN
        best = bound if best is None else min(best, bound)
    return NOTHING if best is None else best.astimezone(UTC)


def decide(planned: Sequence[Reminder], done: Container[str], now: datetime) -> Decision:
    """Of ``planned``, what goes out now (the latest due threshold of each clock, unless it is
    recorded already), what is skipped as superseded, and when to look again."""
    send: list[Reminder] = []
    skip: list[tuple[Reminder, str]] = []
    by_clock: dict[str, list[Reminder]] = {}
    for r in planned:
        by_clock.setdefault(r.clock, []).append(r)
    next_at: datetime | None = None
    for rs in by_clock.values():
        due = [r for r in rs if r.at <= now]
        if due:
            latest = max(due, key=lambda r: r.order)
            if latest.key not in done:
                send.append(latest)
            skip += [(r, f"superseded by {latest.key}") for r in due
                     if r is not latest and r.key not in done]
        for r in rs:
            if r.at > now and r.key not in done and (next_at is None or r.at < next_at):
                next_at = r.at
    return Decision(tuple(send), tuple(skip), next_at)


def upcoming(planned: Sequence[Reminder], done: Container[str], now: datetime,
             until: datetime | None = None) -> list[Reminder]:
    """What goes out next, soonest first: what ``decide`` sends now (at ``now``), then every
    reminder not recorded yet whose time is ahead (up to ``until``). For reading: what fires
    tonight, as the tickets stand."""
    d = decide(planned, done, now)
    now_keys = {r.key for r in d.send}
    ahead = [r for r in planned if r.at > now and r.key not in done and r.key not in now_keys
             and (until is None or r.at <= until)]
    return [replace(r, at=now) for r in d.send] + sorted(ahead, key=lambda r: (r.at, r.key))
