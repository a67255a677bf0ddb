"""A report's lines for repeating clocks (next response): each cycle is met or breached on its
own, and settles in one period by the same rule as any clock (``compute._settle``, passed
in as ``settle``), so the
compliance figures count cycles (client messages answered), not tickets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.clocks import ClockState, cycle_states
from bot.model import Event
from bot.priority import Priority
from bot.sla.policy import Policy


@dataclass(frozen=True)
class CycleLine:
    """One cycle of a repeating clock of one ticket, settled in the report's period."""

    reference: str
    priority: Priority
    clock: str
    cycle: int
    started_at: datetime
    due: datetime | None
    stopped_at: datetime | None
    outcome: str  # met or breached
    late: timedelta  # working time past due


def repeating_clocks(policy: Policy) -> tuple[str, ...]:
    return tuple(n for n, c in policy.clocks.items() if c.repeats)


class Settled(Protocol):
    counted: bool
    outcome: str
    late: timedelta


def cycle_lines(policy: Policy, reference: str, priority: Priority, ordered: Sequence[Event],
                as_of: datetime, settle: Callable[[ClockState], Settled]) -> list[CycleLine]:
    """The cycles of the ticket's repeating clocks that ``settle`` counts in the period."""
    out = []
    for name in repeating_clocks(policy):
        spec = policy.clocks[name]
        for state in cycle_states(spec, policy, priority, ordered, as_of):
            o = settle(state)
            if o.counted and state.started_at is not None:
                out.append(CycleLine(reference, priority, name, state.cycle, state.started_at,
                                     state.due, state.stopped_at, o.outcome, o.late))
    return out


def cycle_figures(lines: Sequence[CycleLine], clock: str,
                  priority: Priority) -> tuple[int, int]:
    """(met, total) of ``clock``'s cycles at ``priority``."""
    mine = [c for c in lines if c.clock == clock and c.priority == priority]
    return sum(c.outcome == "met" for c in mine), len(mine)
