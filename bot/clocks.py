"""Clock state derived from a ticket's events and its policy; never stored, so it cannot drift.

Each clock of a policy is a small state machine over the events: a start event starts it, pause
and resume events stop and restart counting, a stop event stops it, and a reopen event lets a
stopped clock run on from the working time it had used. The target is the one for the ticket's
*current* priority, so a priority change re-derives every clock.

The clock is due when its counted working time reaches the target; that instant is found with the
calendar's ``add``. It is breached when it stopped after that instant, or is still running past it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.model import Event, EventKind
from bot.priority import Priority
from bot.sla.policy import ClockSpec, Policy


class ClockStatus(StrEnum):
    NOT_STARTED = "not-started"
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"


@dataclass(frozen=True)
class ClockState:
    """One clock of one ticket at one instant."""

    name: str
    status: ClockStatus
    target: timedelta
    used: timedelta  # working time counted so far
    started_at: datetime | None = None
    due: datetime | None = None  # when the target runs out (UTC); None while paused/not started
    stopped_at: datetime | None = None
    running: bool = False  # counting now (a breached clock can still be running)
    cycle: int = 0  # of a repeating clock: which run this is (1, 2, ...); 0 for the others

    @property
    def left(self) -> timedelta:
        """Working time left before the target runs out (negative once overrun)."""
        return self.target - self.used

    @property
    def breached(self) -> bool:
        return self.status == ClockStatus.BREACHED

    @property
    def open(self) -> bool:
        """Started and not stopped: it still needs someone to act."""
        return self.started_at is not None and self.stopped_at is None


def _segments(spec: ClockSpec, events: Iterable[Event]) -> tuple[list[list[datetime | None]], str]:
    """The running stretches of a clock as ``[start, end]`` pairs (end None while running); of
    a repeating clock, those of its last cycle."""
    cycles = _cycles(spec, events)
    return cycles[-1] if cycles else ([], "idle")


_DONE = frozenset({EventKind.RESOLVED, EventKind.CLOSED})
NOTHING_NEW = ("edited", "pleasantry")
"""A message whose data says one of these (an edit of the report, a "thanks!") does not start
a repeating clock: it asks nothing new of the provider."""


def _cycles(spec: ClockSpec, events: Iterable[Event]
            ) -> list[tuple[list[list[datetime | None]], str]]:
    """Each run of the clock as (stretches, state); a clock that does not repeat has one."""
    out: list[tuple[list[list[datetime | None]], str]] = []
    segs: list[list[datetime | None]] = []
    state = "idle"
    done = False  # the ticket is resolved or closed: a repeating clock does not start
    for e in events:
        k = e.kind
        if k == EventKind.REOPENED:
            done = False
        if spec.repeats and state in ("idle", "stopped") and k in spec.start and not done \
                and not any(e.data.get(flag) for flag in NOTHING_NEW):
            if segs:
                out.append((segs, state))
            segs, state = [[e.at, None]], "running"
        elif state == "idle" and k in spec.start and not spec.repeats:
            segs.append([e.at, None])
            state = "running"
        elif state == "running" and k in spec.stop:
            segs[-1][1] = e.at
            state = "stopped"
        elif state == "running" and k in spec.pause:
            segs[-1][1] = e.at
            state = "paused"
        elif state == "paused" and k in spec.resume:
            segs.append([e.at, None])
            state = "running"
        elif state == "paused" and k in spec.stop:
            state = "stopped"
        elif state == "stopped" and k in spec.reopen and not spec.repeats:
            segs.append([e.at, None])
            state = "running"
        if k in _DONE:
            done = True
    if segs:
        out.append((segs, state))
    return out


def derive_clock(spec: ClockSpec, policy: Policy, priority: Priority, events: Sequence[Event],
                 now: datetime) -> ClockState:
    """The state of clock ``spec`` at ``now``, from ``events`` in the order they happened; of a
    repeating clock, the state of its last cycle (``cycle`` says which)."""
    cycles = _cycles(spec, (e for e in events if e.at <= now))
    if not cycles:
        return ClockState(spec.name, ClockStatus.NOT_STARTED, spec.targets[priority],
                          timedelta(0))
    segs, state = cycles[-1]
    return _state(spec, policy, priority, segs, state, now,
                  len(cycles) if spec.repeats else 0)


def cycle_states(spec: ClockSpec, policy: Policy, priority: Priority, events: Sequence[Event],
                 now: datetime) -> list[ClockState]:
    """Every cycle of a repeating clock (next response) at ``now``, oldest first; each is
    met or breached on its own."""
    return [_state(spec, policy, priority, segs, state, now, i + 1)
            for i, (segs, state) in enumerate(_cycles(spec, (e for e in events
                                                             if e.at <= now)))]


def _state(spec: ClockSpec, policy: Policy, priority: Priority,
           segs: list[list[datetime | None]], state: str, now: datetime,
           cycle: int) -> ClockState:
    target = spec.targets[priority]
    cal = policy.calendar
    used = timedelta(0)
    due: datetime | None = None
    for i, (a, b) in enumerate(segs):
        assert a is not None
        end = b if b is not None else now
        counted = cal.working_time(a, end)
        last = i == len(segs) - 1
        if due is None and (used + counted > target or (last and state != "paused")):
            # the target runs out inside this stretch, or this is the stretch still counting
            due = cal.add(a, target - used) if used < target else a
        used += counted
    started = segs[0][0]
    stopped_at = segs[-1][1] if state == "stopped" else None
    if due is not None and (stopped_at or now) > due:
        status = ClockStatus.BREACHED
    elif state == "stopped":
        status = ClockStatus.MET
    elif state == "paused":
        status = ClockStatus.PAUSED
    else:
        status = ClockStatus.RUNNING
    if state == "paused" and status == ClockStatus.PAUSED:
        due = None
    return ClockState(spec.name, status, target, used, started,
                      due.astimezone(UTC) if due is not None else None, stopped_at,
                      running=state == "running", cycle=cycle)


def derive_clocks(specs: Mapping[str, ClockSpec], policy: Policy, priority: Priority,
                  events: Sequence[Event], now: datetime) -> dict[str, ClockState]:
    """The state of each clock of ``specs`` for a ticket, keyed by clock name. Which clocks a
    ticket runs depends on its kind: take ``specs`` from ``bot.change_requests.clock_specs``."""
    ordered = sorted(events, key=lambda e: (e.at, e.id or 0))
    return {name: derive_clock(spec, policy, priority, ordered, now)
            for name, spec in specs.items()}


def reached_at(spec: ClockSpec, policy: Policy, events: Sequence[Event], amount: timedelta,
               now: datetime) -> datetime | None:
    """The instant (aware UTC) at which the clock had counted ``amount`` of working time, if it
    had by ``now``; ``events`` in the order they happened. Pauses are accounted for."""
    cal = policy.calendar
    segs, _ = _segments(spec, (e for e in events if e.at <= now))
    used = timedelta(0)
    for a, b in segs:
        assert a is not None
        counted = cal.working_time(a, b if b is not None else now)
        if used + counted >= amount:
            return cal.add(a, amount - used).astimezone(UTC)
        used += counted
    return None


def phase(spec: ClockSpec, events: Sequence[Event]) -> tuple[str, datetime | None, int]:
    """Where the clock's state machine stands after ``events`` (in order), without any calendar
    work: ``idle``, ``running``, ``paused`` or ``stopped``, the instant it first started (in
    its current cycle), and the cycle (0 unless it repeats)."""
    cycles = _cycles(spec, events)
    if not cycles:
        return "idle", None, 0
    segs, state = cycles[-1]
    return state, segs[0][0], len(cycles) if spec.repeats else 0
