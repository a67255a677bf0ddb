"""What the phone side stores: pages of on-call staff, and calls and SMS by their Twilio Sid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Page:
    """On-call paging for one ticket: ``active`` until ``taken`` or ``exhausted``."""

    id: int
    ticket_id: int
    reason: str
    numbers: tuple[str, ...]
    state: str
    created_at: datetime
    taken_by: str | None = None
    taken_at: datetime | None = None


@dataclass(frozen=True)
class PhoneCall:
    """A call as Twilio knows it, by CallSid. ``link`` says what an inbound call did:
    ``linked`` (confirmed a ticket's follow-up), ``waiting`` (for a P1 mail from the caller's
    client), ``voicemail`` (a message was left), ``page`` (an outbound paging call)."""

    sid: str
    direction: str  # "in" or "out"
    from_number: str
    to_number: str
    created_at: datetime
    status: str | None = None
    status_at: datetime | None = None
    ticket_id: int | None = None
    client_id: int | None = None
    page_id: int | None = None
    attempt: int | None = None
    link: str = ""


@dataclass(frozen=True)
class Sms:
    sid: str
    to_number: str
    created_at: datetime
    status: str | None = None
    status_at: datetime | None = None
    ticket_id: int | None = None
    page_id: int | None = None
