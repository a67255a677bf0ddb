"""The domain's value types: clients, staff, events (the append-only log clocks derive from),
messages. The ticket itself is the aggregate in :mod:`bot.ticket`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.priority import Priority


class EventKind(StrEnum):
    """What can happen to a ticket. Policies name these as clock start/pause/resume/stop events."""

    REGISTERED = "registered"
    PRIORITY_SET = "priority_set"
    ASSIGNED = "assigned"
    RESPONDED = "responded"
    CAUSE_CONFIRMED = "cause_confirmed"
    PAUSED = "paused"
    RESUMED = "resumed"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    NOTE = "note"
    TIME_LOGGED = "time_logged"
    MESSAGE_RECEIVED = "message_received"
    PHONE_FOLLOWUP_REQUIRED = "phone_followup_required"
    PHONE_FOLLOWUP_CONFIRMED = "phone_followup_confirmed"
    PHONE_FOLLOWUP_WAIVED = "phone_followup_waived"
    AUTO_REPLY_RECEIVED = "auto_reply_received"  # a bounce or out-of-office about this ticket
    MAIL_SENT = "mail_sent"  # an acknowledgement, reply or notice was queued for the client
    PHONE_CALL_RECEIVED = "phone_call_received"  # a client's call, linked to this ticket
    VOICEMAIL_RECORDED = "voicemail_recorded"  # a caller's recorded message
    PHONE_FOLLOWUP_MISSING = "phone_followup_missing"  # the call is late: client and triage told
    PAGE_STARTED = "page_started"  # on-call paging began for this ticket
    PAGE_ATTEMPT = "page_attempt"  # a call (and SMS) to one on-call number
    PAGE_CALL_ENDED = "page_call_ended"  # how a paging call ended (no answer, busy, ...)
    PAGE_TAKEN = "page_taken"  # someone on call pressed 1: paging stops
    PAGE_EXHAUSTED = "page_exhausted"  # every on-call number was tried, nobody took it
    OUTAGE_CORRECTED = "outage_corrected"  # staff set the outage interval (availability)
    MERGED = "merged"  # another ticket about the same incident was merged into this one
    IMPORTED = "imported"  # registered from a mailbox's history; at the instant of the import
    RATED = "rated"  # the client rated the resolution 1-5 (the last one is the answer)
    WAITING_FOR_CLIENT = "waiting_for_client"  # staff asked the client: the policy's clocks pause
    WAITING_ENDED = "waiting_ended"  # the client answered (or staff stopped waiting)
    CLIENT_NUDGED = "client_nudged"  # no answer at half-time: the client was reminded once


class TicketStatus(StrEnum):
    """Where a ticket stands: a projection of its events, kept on the row for listing."""

    NEW = "new"            # registered, nobody has answered the client yet
    OPEN = "open"          # answered, being worked on
    PAUSED = "paused"      # waiting (on the client, a third party): paused clocks do not count
    RESOLVED = "resolved"  # a fix or answer was delivered; can be reopened
    CLOSED = "closed"      # final


class Channel(StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    PHONE = "phone"
    CLI = "cli"
    WEB = "web"


@dataclass(frozen=True)
class Client:
    """A customer under one policy (contract)."""

    name: str
    policy: str
    email_domains: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    slack_channels: tuple[str, ...] = ()
    invoice_amount: float = 0.0
    currency: str = "EUR"
    default_priority: Priority | None = None
    id: int | None = None
    triage_channel: str | None = None
    """The Slack channel the provider triages this client's tickets in."""
    slack_users: tuple[str, ...] = ()
    """Slack user ids of the client's contacts: their direct messages to the bot are tickets."""
    rates: tuple[tuple[Priority, float], ...] = ()
    """Hourly rate per priority, in ``currency``: the period's amount is the hours logged at
    each level times its rate. None given: the client pays the flat ``invoice_amount``."""

    def rate(self, priority: Priority) -> float | None:
        return dict(self.rates).get(priority)


@dataclass(frozen=True)
class Staff:
    """Someone at the provider who answers tickets."""

    name: str
    email: str | None = None
    slack_user: str | None = None
    phone: str | None = None
    id: int | None = None
    role: str | None = None
    """``manager``: told at the reminder steps that name managers (``[reminders] ladder``)."""


@dataclass(frozen=True)
class Event:
    """One fact in a ticket's history. Never updated or deleted once stored."""

    kind: EventKind
    at: datetime
    actor: str = "system"
    data: dict[str, Any] = field(default_factory=dict)
    ticket_id: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class Message:
    """A message as it arrived or left, raw bytes kept. The same message (Message-ID and content
    hash) is stored once, whichever way it came in."""

    direction: str  # "in" or "out"
    channel: Channel
    message_id: str
    raw: bytes
    at: datetime
    sender: str | None = None
    subject: str | None = None
    text: str = ""
    ticket_id: int | None = None
    id: int | None = None
    content_key: str | None = None  # what makes two copies the same message (default: raw)

    @property
    def content_hash(self) -> str:
        return self.content_key or hashlib.sha256(self.raw).hexdigest()


@dataclass(frozen=True)
class InboundItem:
    """A raw message an intake accepted, waiting to be processed."""

    id: int
    channel: str
    raw: bytes
    received_at: datetime
    mail_from: str = ""
    peer: str = ""
    attempts: int = 0
    state: str = "pending"
    reason: str = ""
    ticket_id: int | None = None


@dataclass(frozen=True)
class OutboundMail:
    """A mail the bot decided to send; stored with that decision, sent later from the outbox."""

    purpose: str  # "ack", "reply", "notice", "not-registered"
    sender: str
    recipients: tuple[str, ...]
    message_id: str
    subject: str
    raw: bytes
    ticket_id: int | None = None
    id: int | None = None
    state: str = "pending"
    attempts: int = 0
    last_error: str = ""
    created_at: datetime | None = None
    sent_at: datetime | None = None


REFERENCE_OFFSET = 1000
"""Ticket ``id`` 42 is shown as ``T-1042``: references look established from the first ticket."""


def reference_of(ticket_id: int) -> str:
    return f"T-{ticket_id + REFERENCE_OFFSET}"


def id_of_reference(reference: str) -> int:
    """``T-1042`` (or ``1042``, ``t-1042``) -> 42; ValueError for anything else."""
    text = reference.strip().upper().removeprefix("T-")
    if not text.isdigit() or int(text) <= REFERENCE_OFFSET:
        raise ValueError(f"not a ticket reference: {reference!r} (expected e.g. T-1042)")
    return int(text) - REFERENCE_OFFSET
