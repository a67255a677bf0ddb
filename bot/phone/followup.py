"""The P1 phone follow-up: which ticket a client's call confirms, and when a missing call is
chased. A call confirms the client's newest P1 still waiting for its call; a call with nothing
to confirm waits for the P1 mail that arrives within a window after it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from bot import readable
from bot.model import EventKind
from bot.sla.policy import Policy
from bot.ticket import Ticket

ACTIVE_STATES = ("new", "open", "paused")


def ticket_for_call(tickets: Iterable[Ticket], client_id: int | None) -> Ticket | None:
    """The client's newest active ticket whose phone follow-up is pending."""
    waiting = [t for t in tickets if client_id is not None and t.client_id == client_id
               and t.status.value in ACTIVE_STATES and t.phone_followup == "pending"]
    return max(waiting, key=lambda t: (t.created_at, t.id or 0), default=None)


def ticket_waiting_for(tickets: Iterable[Ticket], client_id: int | None) -> Ticket | None:
    """The client's newest ticket waiting for the client's answer (a call can be it)."""
    waiting = [t for t in tickets if client_id is not None and t.client_id == client_id
               and t.waiting_since is not None]
    return max(waiting, key=lambda t: (t.created_at, t.id or 0), default=None)


def call_covers(call_at: datetime, ticket_at: datetime, window: timedelta) -> bool:
    """Whether a call at ``call_at`` can be the follow-up of a P1 registered at ``ticket_at``:
    the mail arrives within ``window`` after the call."""
    return call_at <= ticket_at <= call_at + window


def followup_required_at(ticket: Ticket) -> datetime | None:
    """When the ticket's pending follow-up became required (None unless pending)."""
    if ticket.phone_followup != "pending":
        return None
    return max((e.at for e in ticket.events if e.kind == EventKind.PHONE_FOLLOWUP_REQUIRED),
               default=None)


def followup_due(ticket: Ticket, policy: Policy, within: timedelta) -> datetime | None:
    """When a pending follow-up counts as missing: ``within`` working time of the ticket's
    contract after it became required."""
    since = followup_required_at(ticket)
    return policy.calendar.add(since, within) if since is not None else None


def call_request(reference: str, phone_number: str | None) -> str:
    """What a P1's reporter is asked when the report is acknowledged (empty without a number)."""
    if not phone_number:
        return ""
    return f"Please call us now on {readable.phone(phone_number)} and mention {reference}."


def reminder_text(reference: str, phone_number: str | None) -> str:
    """The reminder a client gets when a P1's phone call is late, on whatever channel."""
    text = (f"We have not yet received the phone call that must follow a priority 1 "
            f"report ({reference}).")
    ask = call_request(reference, phone_number)
    return f"{text}\n{ask}" if ask else text
