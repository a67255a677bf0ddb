"""Slack's storage: received events (deduplicated by ``event_id``), which Slack messages belong
to which ticket, and the queue of Web API work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from adapters.storage.outbox import OutboxItem, OutboxStore
from adapters.storage.tables import SlackEventRow, SlackThreadRow

KIND = "slack"
"""The outbox kind of Slack Web API work; a job's own kind is the row's purpose."""


@dataclass(frozen=True)
class SlackJob:
    """One piece of queued Web API work (an outbox row of kind ``slack``)."""

    id: int
    kind: str
    channel: str
    ticket_id: int | None
    payload: dict[str, Any]
    attempts: int
    state: str = "pending"


class SqlSlackRepository:
    def __init__(self, session: Session) -> None:
        self.s = session
        self.outbox = OutboxStore(session)

    # -- events ----------------------------------------------------------------------------

    def store_event(self, event_id: str, kind: str, body: str, at: datetime) -> tuple[int, bool]:
        """Keep a delivery unless its ``event_id`` is stored; returns (row id, newly added)."""
        found = self.s.exec(select(SlackEventRow.id).where(
            SlackEventRow.event_id == event_id)).first()
        if found is not None:
            return found, False
        row = SlackEventRow(event_id=event_id, kind=kind, body=body, received_at=at)
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        return row.id, True

    def event(self, row_id: int, *, for_update: bool = False) -> SlackEventRow | None:
        q = select(SlackEventRow).where(SlackEventRow.id == row_id)
        if for_update:
            q = q.with_for_update()
        return self.s.exec(q).first()

    def pending_events(self, limit: int = 100) -> list[int]:
        q = select(SlackEventRow.id).where(SlackEventRow.state == "pending").order_by(
            col(SlackEventRow.id)).limit(limit)
        return [i for i in self.s.exec(q) if i is not None]

    def finish_event(self, row_id: int, state: str, *, at: datetime, reason: str = "",
                     ticket_id: int | None = None) -> None:
        row = self.event(row_id)
        assert row is not None
        row.state, row.reason, row.ticket_id = state, reason[:2000], ticket_id
        row.processed_at = at.astimezone(UTC)
        row.attempts += 1
        self.s.add(row)

    def event_failed(self, row_id: int, error: str, *, at: datetime, max_attempts: int) -> str:
        row = self.event(row_id)
        assert row is not None
        row.attempts += 1
        row.reason = f"processing failed (attempt {row.attempts}): {error}"[:2000]
        if row.attempts >= max_attempts:
            row.state, row.processed_at = "failed", at.astimezone(UTC)
        self.s.add(row)
        return row.state

    def count_events(self) -> dict[str, int]:
        q = select(SlackEventRow.state, func.count()).group_by(col(SlackEventRow.state))
        return {state: int(n) for state, n in self.s.exec(q)}

    # -- messages that belong to tickets ----------------------------------------------------

    def link(self, ticket_id: int, role: str, channel: str, ts: str, at: datetime) -> bool:
        """Record that the message ``(channel, ts)`` belongs to the ticket; False if known."""
        if self.ticket_of(channel, ts) is not None:
            return False
        self.s.add(SlackThreadRow(ticket_id=ticket_id, role=role, channel=channel, ts=ts,
                                  created_at=at.astimezone(UTC)))
        self.s.flush()
        return True

    def ticket_of(self, channel: str, ts: str) -> tuple[int, str] | None:
        """(ticket id, role) of the message ``(channel, ts)``."""
        row = self.s.exec(select(SlackThreadRow).where(
            SlackThreadRow.channel == channel, SlackThreadRow.ts == ts)).first()
        return (row.ticket_id, row.role) if row else None

    def thread_of(self, ticket_id: int, role: str) -> tuple[str, str] | None:
        """(channel, ts) of the ticket's first message in ``role``."""
        row = self.s.exec(select(SlackThreadRow).where(
            SlackThreadRow.ticket_id == ticket_id, SlackThreadRow.role == role
        ).order_by(col(SlackThreadRow.id))).first()
        return (row.channel, row.ts) if row else None

    # -- the work queue: the Slack kind of the one outbox --------------------------------------

    def queue(self, kind: str, *, key: str, channel: str, at: datetime,
              ticket_id: int | None = None, payload: dict[str, Any] | None = None) -> bool:
        """Queue work under a unique ``key``; False if that key is queued already."""
        return self.outbox.queue(KIND, kind, key=key, at=at, channel=channel,
                                 ticket_id=ticket_id, payload=payload)

    def has_pending(self, ticket_id: int, kind: str) -> bool:
        """Unclaimed work of ``kind`` for the ticket is waiting."""
        return self.outbox.has(KIND, ticket_id, kind, ("pending",))

    def has_unfinished(self, ticket_id: int, kind: str) -> bool:
        """Work of ``kind`` for the ticket is waiting or being delivered right now."""
        return self.outbox.has(KIND, ticket_id, kind, ("pending", "sending"))

    def due(self, now: datetime, stale: timedelta, limit: int = 50) -> list[int]:
        return self.outbox.due(KIND, now, stale, limit)

    def claim(self, row_id: int, now: datetime, stale: timedelta) -> SlackJob | None:
        """pending -> sending (the caller commits); None if someone else has it."""
        item = self.outbox.claim(row_id, now, stale)
        return job_of(item) if item is not None else None

    def done(self, row_id: int, now: datetime) -> None:
        self.outbox.done(row_id, now)

    def retry(self, row_id: int, error: str, at: datetime | None, *, count: bool = True) -> str:
        """Put the work back until ``at`` (None: give up, failed). Returns the new state."""
        return self.outbox.retry(row_id, error, at, count=count)

    def jobs(self, state: str | None = None, limit: int = 1000) -> list[SlackJob]:
        """Queued work, oldest first."""
        return [job_of(i) for i in self.outbox.items(kind=KIND, state=state, limit=limit,
                                                     newest_first=False)]

    def count_jobs(self) -> dict[str, int]:
        return self.outbox.counts(KIND)


def job_of(item: OutboxItem) -> SlackJob:
    return SlackJob(item.id, item.purpose, item.channel, item.ticket_id, item.payload,
                    item.attempts, item.state)
