"""What readers see of a ticket: the ticket with its clocks as they stand at an instant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clocks import ClockState
from bot.model import TicketStatus
from bot.sla.policy import Policy
from bot.ticket import Ticket

ACTIVE = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PAUSED)
"""The statuses of a ticket still being worked on (``tickets list --open``)."""


@dataclass(frozen=True)
class TicketView:
    """A ticket with its clocks as they stand at ``now``."""

    ticket: Ticket
    policy: Policy
    clocks: Mapping[str, ClockState]
    now: datetime

    @property
    def reference(self) -> str:
        return self.ticket.reference

    def at_risk(self, share: float = 0.25) -> bool:
        """A running clock breached, or with less than ``share`` of its target left."""
        return any(c.running and (c.breached or c.left <= c.target * share)
                   for c in self.clocks.values())

    def next_due(self) -> ClockState | None:
        running = [c for c in self.clocks.values() if c.running and c.due is not None]
        return min(running, key=lambda c: c.due or self.now, default=None)


def list_limit(limit: int, *, at_risk: bool, assignee: str | None) -> int:
    """How many tickets a listing reads before ``select``: all of them when it filters on what
    only the views know (the clocks, the assignee)."""
    return 100_000 if at_risk or assignee is not None else limit


def select(views: Sequence[TicketView], *, at_risk: bool, assignee: str | None, limit: int,
           now: datetime) -> list[TicketView]:
    """What ``tickets list`` shows of ``views`` (newest first): only ``assignee``'s; with
    ``at_risk`` only those at risk, the soonest due first; at most ``limit``."""
    out = [v for v in views if assignee is None or v.ticket.assignee == assignee]
    if at_risk:
        out = [v for v in out if v.at_risk()]
        out.sort(key=lambda v: (n.due if (n := v.next_due()) and n.due else
                                now + timedelta(days=9999)))
    return out[:limit]
