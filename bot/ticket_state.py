"""What a ticket's log says about its steps, read from its events (the aggregate,
:mod:`bot.ticket`, asks these; nothing here records anything)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.model import Event, EventKind, TicketStatus


def phone_followup(events: Sequence[Event]) -> str | None:
    """The P1 phone follow-up step: ``pending``, ``confirmed``, ``waived``, or None."""
    found = None
    for e in events:
        if e.kind == EventKind.PHONE_FOLLOWUP_REQUIRED and found in (None, "waived"):
            found = "pending"
        elif e.kind == EventKind.PHONE_FOLLOWUP_CONFIRMED:
            found = "confirmed"
        elif e.kind == EventKind.PHONE_FOLLOWUP_WAIVED and found == "pending":
            found = "waived"
    return found


def _wait_index(status: TicketStatus, events: Sequence[Event]) -> int | None:
    """Where the current wait for the client began in ``events``: a paused ticket whose last
    pause was a ``waiting_for_client`` (not a plain ``paused``)."""
    if status != TicketStatus.PAUSED:
        return None
    for i in range(len(events) - 1, -1, -1):
        if events[i].kind == EventKind.WAITING_FOR_CLIENT:
            return i
        if events[i].kind == EventKind.PAUSED:
            return None
    return None


def waiting_since(status: TicketStatus, events: Sequence[Event]) -> Event | None:
    i = _wait_index(status, events)
    return events[i] if i is not None else None


def nudged(status: TicketStatus, events: Sequence[Event]) -> bool:
    i = _wait_index(status, events)
    return i is not None and any(e.kind == EventKind.CLIENT_NUDGED for e in events[i + 1:])


def resolved_for(status: TicketStatus, events: Sequence[Event],
                 now: datetime) -> timedelta | None:
    """How long the ticket has been resolved at ``now``; None when it is not resolved."""
    resolved = next((e for e in reversed(events) if e.kind == EventKind.RESOLVED), None)
    if status != TicketStatus.RESOLVED or resolved is None:
        return None
    return now - resolved.at
