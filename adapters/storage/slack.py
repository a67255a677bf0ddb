"""Slack's storage: which Slack messages belong to which ticket, and Slack's views of the one
inbox (events, deduplicated by ``event_id``) and the one outbox (Web API work)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from adapters.storage.inbox import InboxStore
from adapters.storage.outbox import OutboxItem, OutboxStore
from adapters.storage.tables import OutboxRow, SlackHomeRow, SlackThreadRow, TicketRow

KIND = "slack"
"""The outbox kind of Slack Web API work; a job's own kind is the row's purpose."""
EVENTS = "slack"
"""The inbox kind of Slack events."""


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

    # -- events: the Slack kind of the one inbox (processed by ``adapters.inbox``) ------------

    def store_event(self, event_id: str, kind: str, body: str, at: datetime) -> tuple[int, bool]:
        """Keep a delivery unless its ``event_id`` is stored; returns (row id, newly added)."""
        return InboxStore(self.s).store(EVENTS, event_id, body.encode("utf-8"), at=at,
                                        channel=EVENTS, peer=kind)

    def count_events(self) -> dict[str, int]:
        """Events by state; quarantined ones as ``failed``, the metric's word for them."""
        counts: dict[str, int] = {}
        for state, n in InboxStore(self.s).counts(EVENTS).items():
            name = "failed" if state == "quarantined" else state
            counts[name] = counts.get(name, 0) + n
        return counts

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

    def latest_from(self, channel: str, requester: str) -> tuple[int, str, str] | None:
        """(ticket id, ts, ticket status) of the newest report message in ``channel`` of a
        ticket ``requester`` opened there: where that person's next message may belong."""
        row = self.s.exec(
            select(SlackThreadRow.ticket_id, SlackThreadRow.ts, TicketRow.status)
            .join(TicketRow, col(TicketRow.id) == col(SlackThreadRow.ticket_id))
            .where(SlackThreadRow.channel == channel, SlackThreadRow.role == "source",
                   TicketRow.requester == requester)
            .order_by(col(SlackThreadRow.id).desc())).first()
        return (row[0], row[1], str(row[2])) if row else None

    def thread_of(self, ticket_id: int, role: str, *, first: bool = False
                  ) -> tuple[str, str] | None:
        """(channel, ts) of the ticket's newest message in ``role`` (a triage post deleted in
        Slack is posted again: the new one counts); ``first``: its oldest (the report's first
        message, where the bot answered)."""
        order = col(SlackThreadRow.id).asc() if first else col(SlackThreadRow.id).desc()
        row = self.s.exec(select(SlackThreadRow).where(
            SlackThreadRow.ticket_id == ticket_id, SlackThreadRow.role == role
        ).order_by(order)).first()
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

    # -- App Homes -----------------------------------------------------------------------------

    def homes(self, users: Iterable[str] | None = None) -> dict[str, str]:
        """The Slack users who opened their Home (of ``users``; all if None) -> the outbox key
        of their latest refresh ("" before the first)."""
        q = select(SlackHomeRow)
        if users is not None:
            q = q.where(col(SlackHomeRow.user_id).in_(sorted(set(users))))
        return {r.user_id: r.last_key for r in self.s.exec(q)}

    def home_opened(self, user: str, at: datetime) -> None:
        if self.s.get(SlackHomeRow, user) is None:
            self.s.add(SlackHomeRow(user_id=user, opened_at=at.astimezone(UTC)))
            self.s.flush()

    def home_queued(self, user: str, key: str) -> None:
        row = self.s.get(SlackHomeRow, user)
        if row is not None:
            row.last_key = key
            self.s.add(row)

    def is_pending(self, key: str) -> bool:
        """The Slack work queued under ``key`` waits, unclaimed (one row, by unique index)."""
        return self.s.exec(select(OutboxRow.state).where(
            OutboxRow.kind == KIND, OutboxRow.key == key)).first() == "pending"

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
