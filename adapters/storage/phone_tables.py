"""The phone desk's tables: pages and their attempts, calls, SMS, webhooks seen. Instants are
stored aware UTC."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class PageRow(SQLModel, table=True):
    """On-call paging for a ticket. At most one active page per ticket (checked under the
    ticket's lock, which every caller holds)."""

    __tablename__ = "page"
    __table_args__ = (Index("ix_page_state", "state"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    reason: str = ""
    numbers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = "active"  # active, taken, exhausted
    created_at: datetime
    finished_at: datetime | None = None
    taken_by: str | None = None


class PageAttemptRow(SQLModel, table=True):
    """One call (and SMS) of a page: recorded before it is placed, so it is placed once."""

    __tablename__ = "page_attempt"
    __table_args__ = (UniqueConstraint("page_id", "n", name="uq_page_attempt"),)
    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="page.id")
    n: int
    number: str
    placed_at: datetime
    call_sid: str | None = None
    sms_sid: str | None = None
    state: str = "placing"  # placing, placed, not-placed
    state_at: datetime | None = None


class PhoneCallRow(SQLModel, table=True):
    """A call by its CallSid, inbound or outbound, with its status (monotonic)."""

    __tablename__ = "phone_call"
    __table_args__ = (Index("ix_phone_call_client_link", "client_id", "link"),)
    sid: str = Field(primary_key=True)
    direction: str
    from_number: str = ""
    to_number: str = ""
    created_at: datetime
    status: str | None = None
    status_at: datetime | None = None
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    client_id: int | None = Field(default=None, foreign_key="client.id")
    page_id: int | None = Field(default=None, foreign_key="page.id")
    attempt: int | None = None
    link: str = ""


class PhoneSmsRow(SQLModel, table=True):
    """An SMS by its MessageSid, with its status (monotonic)."""

    __tablename__ = "phone_sms"
    sid: str = Field(primary_key=True)
    to_number: str = ""
    created_at: datetime
    status: str | None = None
    status_at: datetime | None = None
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    page_id: int | None = Field(default=None, foreign_key="page.id")


class WebhookSeenRow(SQLModel, table=True):
    """A webhook delivery (or one-off decision) already acted on, by a key of its own."""

    __tablename__ = "webhook_seen"
    key: str = Field(primary_key=True)
    at: datetime
# -- reports (migration 4) ----------------------------------------------------------------------
