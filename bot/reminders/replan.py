"""Telling the scheduler that a ticket's reminders must be planned again.

A Helpdesk listener: it sees every ticket's new events inside their transaction and, when one
of them can move a clock (start, stop, pause, resume, reopen, a priority change, a status
change), records a re-plan request in that same transaction. The request commits or rolls back
with the events, and any process (the CLI, another instance, an intake) leaves one that the
instance running the scheduler picks up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from bot.model import Event, EventKind
from bot.sla.policy import Policy

if TYPE_CHECKING:
    from bot.ports import RemindingUnitOfWork, UnitOfWork
    from bot.services import TicketView

_ALWAYS = frozenset({EventKind.REGISTERED, EventKind.PRIORITY_SET, EventKind.PAUSED,
                     EventKind.RESUMED, EventKind.RESOLVED, EventKind.REOPENED,
                     EventKind.CLOSED, EventKind.CAUSE_CONFIRMED, EventKind.RESPONDED})


def affects_clocks(policy: Policy, events: Sequence[Event]) -> bool:
    """Whether any of ``events`` can change a clock (or whether the ticket is open)."""
    kinds = set(_ALWAYS)
    for spec in policy.clocks.values():
        kinds |= spec.start | spec.stop | spec.pause | spec.resume | spec.reopen
    return any(e.kind in kinds for e in events)


class ReplanListener:
    outward = False
    """It sends nothing: an imported ticket's reminders are planned too (``bot.listeners``)."""

    def __call__(self, uow: UnitOfWork, view: TicketView, events: Sequence[Event]) -> None:
        t = view.ticket
        if t.id is not None and affects_clocks(view.policy, events):
            cast("RemindingUnitOfWork", uow).reminders.request_replan(t.id, at=view.now)
