"""The tables. Instants are stored aware UTC; lists and event data as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


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
    invoice_amount: float = 0.0
    currency: str = "EUR"
    default_priority: str | None = None


class StaffRow(SQLModel, table=True):
    __tablename__ = "staff"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    email: str | None = None
    slack_user: str | None = None
    phone: str | None = None


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
    """A message as an intake accepted it: stored (committed) before the intake says yes.

    Processing (parse, classify, thread, register) reads it from here later and records the
    outcome, so nothing accepted is lost if the process dies in between.
    """

    __tablename__ = "inbound"
    __table_args__ = (Index("ix_inbound_state_id", "state", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime
    channel: str  # "smtp", "imap", "pipe"
    peer: str = ""  # SMTP client address, IMAP account/folder, "pipe"
    mail_from: str = ""  # envelope sender
    rcpt_to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int = 0
    state: str = "pending"  # pending, done, duplicate, ignored, quarantined
    reason: str = ""
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    attempts: int = 0
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
    """A mail to send, stored in the transaction that decided to send it; sent at most once."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next", "state", "next_attempt_at"),
                      Index("ix_outbox_recipient_created", "recipient_key", "created_at"))
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    purpose: str  # "ack", "reply", "notice", ...
    sender: str
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    recipient_key: str = ""  # the first recipient, lower-cased: for per-sender rate limits
    message_id: str = Field(unique=True)
    subject: str = ""
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    state: str = "pending"  # pending, sending, sent, failed
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str = ""
    sent_at: datetime | None = None


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
