"""The tables. Instants are stored aware UTC; lists and event data as JSON."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from adapters.storage.home_tables import SlackHomeRow  # noqa: F401 (a table too)
from adapters.storage.phone_tables import (  # noqa: F401 (the phone tables are tables too)
    PageAttemptRow,
    PageRow,
    PhoneCallRow,
    PhoneSmsRow,
    WebhookSeenRow,
)


class SchemaVersionRow(SQLModel, table=True):
    __tablename__ = "schema_version"
    id: int = Field(default=1, primary_key=True)
    version: int
    upgraded_at: datetime


class ClientRow(SQLModel, table=True):
    __tablename__ = "client"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    policy: str
    email_domains: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    emails: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    phones: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    slack_channels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    triage_channel: str | None = None  # added by migration 5
    invoice_amount: float = 0.0
    currency: str = "EUR"
    default_priority: str | None = None
    rates: dict[str, float] = Field(default_factory=dict, sa_column=Column(
        JSON, nullable=False, server_default="{}"))  # added by migration 14
    slack_users: list[str] = Field(default_factory=list, sa_column=Column(
        JSON, nullable=False, server_default="[]"))  # added by migration 14


class StaffRow(SQLModel, table=True):
    __tablename__ = "staff"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    email: str | None = None
    slack_user: str | None = None
    phone: str | None = None
    role: str | None = None


class TicketRow(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (Index("ix_ticket_status_created", "status", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    client_id: int | None = Field(default=None, foreign_key="client.id", index=True)
    policy: str
    kind: str = "incident"
    subject: str
    body: str = ""
    priority: str
    channel: str
    status: str
    requester: str | None = None
    assignee: str | None = None
    created_at: datetime
    updated_at: datetime


class EventRow(SQLModel, table=True):
    """The append-only log. Rows are inserted, never updated or deleted."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_ticket_at", "ticket_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    kind: str
    at: datetime
    actor: str
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class MessageRow(SQLModel, table=True):
    """A message as it arrived or left, raw bytes kept; the same message is stored once."""

    __tablename__ = "message"
    __table_args__ = (UniqueConstraint("message_id", "content_hash", name="uq_message_identity"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    direction: str  # "in" or "out"
    channel: str
    message_id: str = Field(index=True)
    content_hash: str
    sender: str | None = None
    subject: str | None = None
    text: str = ""
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    at: datetime


class InboundRow(SQLModel, table=True):
    """The one inbox: an input as an intake accepted it, stored (committed) before the intake
    says yes; a mail, a Slack event, a Twilio webhook (``kind``).

    Processing reads it from here later and records the outcome, so nothing accepted is lost
    if the process dies in between. ``key`` deduplicates inputs that carry an id of their own
    (Slack's ``event_id``, Twilio's idempotency token); mail is deduplicated when processed
    (Message-ID plus content hash). Migration 10 added ``kind``, ``key`` and
    ``next_attempt_at`` and moved the Slack events (``slack_event``) in.
    """

    __tablename__ = "inbound"
    __table_args__ = (Index("ix_inbound_state_id", "state", "id"),
                      Index("uq_inbound_kind_key", "kind", "key", unique=True))
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="mail", sa_column_kwargs={"server_default": "mail"})
    key: str | None = None
    received_at: datetime
    channel: str  # "smtp", "imap", "pipe"; "slack"; "twilio"
    peer: str = ""  # SMTP client address, IMAP account/folder, "pipe"; Slack: the event type
    mail_from: str = ""  # envelope sender
    rcpt_to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int = 0
    state: str = "pending"  # pending, done, duplicate, ignored, quarantined (, dropped)
    reason: str = ""
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    attempts: int = 0
    next_attempt_at: datetime | None = None  # after a failed attempt: not before then
    processed_at: datetime | None = None


class MailboxStateRow(SQLModel, table=True):
    """Where an IMAP poller is in a folder: advanced in the transaction that stores a message."""

    __tablename__ = "mailbox_state"
    key: str = Field(primary_key=True)  # account and folder
    # IMAP's UIDVALIDITY and UIDs are unsigned 32-bit: beyond PostgreSQL's INTEGER
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_uid: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime


class OutboxRow(SQLModel, table=True):
    """Something the bot sends (a mail, a Slack post, ...), stored in the transaction that
    decided to send it and delivered later by the sender of its ``kind``, once per ``key``.

    Mail rows use the mail columns (``sender`` ... ``raw``; ``key`` is the Message-ID); other
    kinds keep what their sender needs in ``channel`` and ``payload`` and put ``kind:key`` in
    ``message_id`` (unique, like every Message-ID). Migration 9 added ``kind`` to ``payload``
    and moved the Slack queue (``slack_outbox``) in; migration 11 added ``claimed_by``.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next", "state", "next_attempt_at"),
                      Index("ix_outbox_recipient_created", "recipient_key", "created_at"),
                      Index("uq_outbox_kind_key", "kind", "key", unique=True),
                      Index("ix_outbox_kind_state_next", "kind", "state", "next_attempt_at"))
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    kind: str = Field(default="mail", sa_column_kwargs={"server_default": "mail"})
    key: str | None = None  # the dedupe key within the kind
    channel: str = Field(default="", sa_column_kwargs={"server_default": ""})
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(
        JSON, nullable=False, server_default="{}"))
    purpose: str  # mail: "ack", "reply", "notice", ...; Slack: "triage", "thread", ...
    sender: str
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    recipient_key: str = ""  # the first recipient, lower-cased: for per-sender rate limits
    message_id: str = Field(unique=True)
    subject: str = ""
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    state: str = "pending"  # pending, sending, sent, failed
    claimed_by: str | None = None  # the owner (``adapters.outbox.owner``) that claimed it last
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str = ""
    sent_at: datetime | None = None


# -- Slack (migration 5) -----------------------------------------------------------------------


class SlackEventRow(SQLModel, table=True):
    """Slack's events before the one inbox: created by migration 5, moved into ``inbound``
    and dropped by migration 10. Nothing else uses it."""

    __tablename__ = "slack_event"
    __table_args__ = (Index("ix_slack_event_state_id", "state", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True)
    received_at: datetime
    kind: str  # the event's type: message, reaction_added, ...
    body: str  # the raw JSON body
    state: str = "pending"  # pending, done, ignored, failed
    reason: str = ""
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    attempts: int = 0
    processed_at: datetime | None = None


class SlackThreadRow(SQLModel, table=True):
    """A Slack message that belongs to a ticket: the client's report (``source``), or the
    bot's triage post (``triage``), whose thread carries the ticket's news."""

    __tablename__ = "slack_thread"
    __table_args__ = (UniqueConstraint("channel", "ts", name="uq_slack_thread_message"),
                      Index("ix_slack_thread_ticket_role", "ticket_id", "role"))
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    role: str  # "source" or "triage"
    channel: str
    ts: str
    created_at: datetime


class SlackOutboxRow(SQLModel, table=True):
    """The Slack queue before the one outbox: created by migration 5, moved into ``outbox``
    and dropped by migration 9. Nothing else uses it."""

    __tablename__ = "slack_outbox"
    __table_args__ = (Index("ix_slack_outbox_state_next", "state", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    created_at: datetime
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    kind: str  # triage, thread, reply, link
    channel: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = "pending"  # pending, sending, sent, failed
    claimed_by: str | None = None  # the owner (``adapters.outbox.owner``) that claimed it last
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str = ""
    sent_at: datetime | None = None
# -- the phone side (Twilio), migration 6 --------------------------------------------------------

REPORT_INDEXES = (
    # a period's tickets: changed since the period's start (created_at filtered in the index) ...
    Index("ix_ticket_client_updated_created", TicketRow.client_id, TicketRow.updated_at,  # type: ignore[arg-type]
          TicketRow.created_at),
    # ... or not closed yet
    Index("ix_ticket_client_status_created", TicketRow.client_id, TicketRow.status,  # type: ignore[arg-type]
          TicketRow.created_at),
)
"""Indexes on the ticket table for reports; created with it on a fresh database, and by
migration 4 on an older one."""


class SentReportRow(SQLModel, table=True):
    """A report sent to a client for approval: accepted or challenged by a contact (by reply
    or by staff), else accepted automatically once ``due_at`` has passed."""

    __tablename__ = "sent_report"
    __table_args__ = (Index("ix_sent_report_client_first", "client_id", "period_first"),)
    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id")
    period_first: date
    period_last: date
    policy_version: str
    content_sha256: str  # of the report's JSON form: what exactly was sent
    message_id: str = Field(unique=True)
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sent_at: datetime
    due_at: datetime  # accepted automatically after this instant
    state: str = "sent"  # sent, accepted, challenged
    decided_at: datetime | None = None
    decided_by: str = ""
    note: str = ""
    figures: str = Field(default="", sa_column_kwargs={"server_default": ""})
    """The invoice figures sent (JSON, ``bot.reports.invoices``); added by migration 14."""


def create_report_tables(conn: Any) -> None:
    """Migration 4: the reports' indexes on tickets, and the sent reports."""
    for ix in REPORT_INDEXES:
        ix.create(conn, checkfirst=True)
    SentReportRow.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]


# -- maintenance windows (migration 8) ----------------------------------------------------------

class MaintenanceRow(SQLModel, table=True):
    """An announced maintenance window; ``key`` identifies the announcement's content, so the
    same announcement is recorded once. ``*_told_at``: when the clients were told it started
    and ended."""

    __tablename__ = "maintenance_window"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    start_at: datetime = Field(index=True)
    end_at: datetime
    summary: str
    clients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    hotfix: bool = False
    release_notes: str = ""
    announced_at: datetime
    announced_by: str = ""
    started_told_at: datetime | None = None
    ended_told_at: datetime | None = None


class PolicyVersionRow(SQLModel, table=True):
    """A version of a client's policy file (migration 8): its content by hash, and whether
    the client acknowledged it (told, or approved where the policy asks approval)."""

    __tablename__ = "policy_version"
    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    policy: str
    version: str
    content: str
    recorded_at: datetime
    state: str  # baseline, told, pending, approved, challenged, superseded
    message_id: str = Field(default="", index=True)
    decided_at: datetime | None = None
    decided_by: str = ""
class ReminderRow(SQLModel, table=True):
    """A deadline reminder, recorded (claimed) under its unique key before it is delivered.

    ``state``: ``claimed`` (being delivered, or its delivery failed and waits for a retry),
    ``sent``, ``skipped`` (superseded or no longer applying; ``reason`` says which) or
    ``failed`` (gave up after retries). ``sinks_done`` lists the sinks that delivered it, so a
    retry or a takeover after a crash delivers only where it had not arrived yet.
    """

    __tablename__ = "reminder"
    __table_args__ = (Index("ix_reminder_state_next", "state", "next_attempt_at"),
                      Index("ix_reminder_ticket", "ticket_id"))
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    clock: str
    threshold: str
    repeat: int = 0
    kind: str
    due_at: datetime
    claimed_at: datetime
    state: str = "claimed"
    late: bool = False
    reason: str = ""
    text: str = ""
    sinks_done: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str = ""
    sent_at: datetime | None = None


class ReplanRow(SQLModel, table=True):
    """"Plan this ticket's reminders again": written with the events that moved a clock, taken
    (deleted) by the instance that runs the scheduler."""

    __tablename__ = "reminder_replan"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int
    requested_at: datetime
