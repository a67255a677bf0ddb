"""The one inbox table's operations, on the caller's session: store a raw input once per key,
find what is due, finish it, count a failed attempt (backoff, then quarantine), requeue.

The mail intakes store through ``adapters.mail.inbound.InboundStore`` (group commit) and their
batch runner reads through ``SqlInboundRepository``; both use these rows and states.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from adapters.storage.database import as_utc
from adapters.storage.tables import InboundRow

FINAL = ("done", "duplicate", "ignored", "quarantined", "dropped")
MAIL_CHANNELS = ("smtp", "imap", "pipe")
"""The channels of kind ``mail``, which the mail batch runner processes."""


@dataclass(frozen=True)
class Attempts:
    """How often processing is tried: seconds before each retry, then quarantine."""

    backoff: tuple[int, ...] = (10, 60, 300, 1800)

    @property
    def max_attempts(self) -> int:
        return len(self.backoff) + 1

    def next_attempt(self, attempt: int, now: datetime) -> datetime | None:
        """After failed attempt number ``attempt``: when to try again; None: quarantine."""
        if attempt > len(self.backoff):
            return None
        return now + timedelta(seconds=self.backoff[attempt - 1])


@dataclass(frozen=True)
class InboxItem:
    """One stored input, raw, with where its processing stands."""

    id: int
    kind: str
    key: str
    channel: str
    peer: str
    raw: bytes
    received_at: datetime
    state: str
    reason: str
    attempts: int
    ticket_id: int | None = None
    processed_at: datetime | None = None

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", "replace")


def item_of(row: InboundRow) -> InboxItem:
    assert row.id is not None
    return InboxItem(
        id=row.id, kind=row.kind, key=row.key or "", channel=row.channel, peer=row.peer,
        raw=row.raw, received_at=as_utc(row.received_at), state=row.state, reason=row.reason,
        attempts=row.attempts, ticket_id=row.ticket_id,
        processed_at=as_utc(row.processed_at) if row.processed_at else None)


class InboxStore:
    """The inbox on one session; the caller commits (before the intake says yes)."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def store(self, kind: str, key: str, raw: bytes, *, at: datetime, channel: str,
              peer: str = "") -> tuple[int, bool]:
        """Keep ``raw`` unless ``key`` of ``kind`` is stored; returns (row id, newly added)."""
        found = self.s.exec(select(InboundRow.id).where(InboundRow.kind == kind,
                                                        InboundRow.key == key)).first()
        if found is not None:
            return found, False
        row = InboundRow(kind=kind, key=key, received_at=at.astimezone(UTC), channel=channel,
                         peer=peer, raw=raw, size=len(raw))
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        return row.id, True

    def get(self, row_id: int, *, for_update: bool = False) -> InboxItem | None:
        q = select(InboundRow).where(InboundRow.id == row_id)
        if for_update:
            q = q.with_for_update()
        row = self.s.exec(q).first()
        return item_of(row) if row is not None else None

    def due(self, kind: str, now: datetime, limit: int = 100,
            received_before: datetime | None = None) -> list[int]:
        """Pending ids of ``kind`` whose next attempt (if any) has come, oldest first."""
        q = select(InboundRow.id).where(
            InboundRow.kind == kind, InboundRow.state == "pending",
            or_(col(InboundRow.next_attempt_at).is_(None),
                col(InboundRow.next_attempt_at) <= now.astimezone(UTC)))
        if received_before is not None:
            q = q.where(col(InboundRow.received_at) < received_before.astimezone(UTC))
        q = q.order_by(col(InboundRow.id)).limit(limit)
        return [i for i in self.s.exec(q) if i is not None]

    def finish(self, row_id: int, state: str, *, at: datetime, reason: str = "",
               ticket_id: int | None = None) -> None:
        row = self._row(row_id)
        row.state, row.reason, row.ticket_id = state, reason[:2000], ticket_id
        row.processed_at, row.next_attempt_at = at.astimezone(UTC), None
        row.attempts += 1
        self.s.add(row)

    def failed(self, row_id: int, error: str, *, at: datetime, attempts: Attempts) -> str:
        """Count a failed attempt: pending again after its backoff, or quarantined with the
        reason (the raw input stays). Returns the new state."""
        row = self._row(row_id)
        if row.state != "pending":  # finished meanwhile (by a redelivery, say)
            return row.state
        row.attempts += 1
        row.reason = f"processing failed (attempt {row.attempts}): {error}"[:2000]
        again = attempts.next_attempt(row.attempts, at.astimezone(UTC))
        if again is None:
            row.state, row.next_attempt_at = "quarantined", None
            row.processed_at = at.astimezone(UTC)
        else:
            row.next_attempt_at = again
        self.s.add(row)
        return row.state

    def requeue(self, row_id: int) -> bool:
        """A quarantined input is processed again, its attempts counted afresh."""
        row = self.s.get(InboundRow, row_id)
        if row is None or row.state != "quarantined":
            return False
        row.state, row.attempts, row.processed_at, row.next_attempt_at = "pending", 0, None, None
        row.reason = f"retried after: {row.reason}"[:2000]
        self.s.add(row)
        return True

    def drop(self, row_id: int, note: str) -> bool:
        """Give up on a quarantined input: it stays stored, raw, with ``note`` as its reason."""
        row = self.s.get(InboundRow, row_id)
        if row is None or row.state != "quarantined":
            return False
        row.state, row.reason = "dropped", f"{note}; before: {row.reason}"[:2000]
        self.s.add(row)
        return True

    def items(self, kind: str | None, *, states: Sequence[str] = (), limit: int = 1000,
              newest_first: bool = False) -> list[InboxItem]:
        """Oldest first (or newest); every kind if ``kind`` is None."""
        q = select(InboundRow)
        if kind is not None:
            q = q.where(InboundRow.kind == kind)
        if states:
            q = q.where(col(InboundRow.state).in_(list(states)))
        order = col(InboundRow.id).desc() if newest_first else col(InboundRow.id)
        return [item_of(r) for r in self.s.exec(q.order_by(order).limit(limit))]

    def counts(self, kind: str) -> dict[str, int]:
        q = select(InboundRow.state, func.count()).where(InboundRow.kind == kind).group_by(
            col(InboundRow.state))
        return {state: int(n) for state, n in self.s.exec(q)}

    def _row(self, row_id: int) -> InboundRow:
        row = self.s.get(InboundRow, row_id)
        assert row is not None, f"no inbox row {row_id}"
        return row
