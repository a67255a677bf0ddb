"""What readers see of a ticket: the ticket with its clocks as they stand at an instant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.clocks import ClockState
from bot.sla.policy import Policy
from bot.ticket import Ticket


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
