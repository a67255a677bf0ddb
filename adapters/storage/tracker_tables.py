"""The joint trackers' table (migration 12): which tracker item mirrors which ticket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class TrackerLinkRow(SQLModel, table=True):
    """A ticket's item in its client's tracker: the key and link, what the bot last mirrored
    to it (the no-echo rule compares webhooks with it), and the last permanent refusal."""

    __tablename__ = "tracker_link"
    __table_args__ = (Index("uq_tracker_link_item", "kind", "client", "external_key",
                            unique=True),)
    ticket_id: int = Field(primary_key=True, foreign_key="ticket.id")
    kind: str  # jira, trello, asana
    client: str
    external_key: str | None = None  # SUP-12, a card id, a task gid; None until created
    url: str = ""
    state: str | None = None  # the ticket state last mirrored (new, open, resolved, ...)
    priority: str | None = None  # the priority last mirrored (P1..P4)
    created_at: datetime
    synced_at: datetime | None = None
    error: str = ""  # the last permanent refusal, readable; empty when none


class TrackerHookRow(SQLModel, table=True):
    """The secret an Asana webhook handed over in its ``X-Hook-Secret`` handshake, per
    client: later deliveries are signed with it. Taken once; a second handshake with another
    secret is refused (it would let anyone replace it)."""

    __tablename__ = "tracker_hook"
    client: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    secret: str
    created_at: datetime
