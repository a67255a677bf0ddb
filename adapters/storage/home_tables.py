"""The Slack App Home table: whose Home tab the bot keeps current (migration 16)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class SlackHomeRow(SQLModel, table=True):
    """A Slack user who opened the bot's Home tab: their Home is republished when their
    tickets (or the at-risk queue) change. ``last_key``: the outbox key of the latest refresh
    queued, read by the outbox's unique index to know whether one is still waiting."""

    __tablename__ = "slack_home"
    user_id: str = Field(primary_key=True)
    opened_at: datetime
    last_key: str = ""
