"""The one outbox table's operations, on the caller's session: queue, due, claim (with its
owner), release (a gone owner's claims), mark_sent, done, retry, and what the CLI needs (list,
show, retry, drop)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from adapters.storage.database import as_utc
from adapters.storage.tables import OutboxRow

STATES = ("pending", "sending", "sent", "failed", "dropped")


@dataclass(frozen=True)
class OutboxItem:
    """One row of the outbox, as a sender or the CLI sees it."""

    id: int
    kind: str
    purpose: str
    key: str
    channel: str
    ticket_id: int | None
    payload: dict[str, Any]
    state: str
    attempts: int
    last_error: str
    created_at: datetime
    sent_at: datetime | None = None
    sender: str = ""  # mail only, from here on
    recipients: tuple[str, ...] = ()
    subject: str = ""
    message_id: str = ""
    raw: bytes = b""
    claimed_by: str = ""


def item_of(row: OutboxRow) -> OutboxItem:
    assert row.id is not None
    return OutboxItem(
        id=row.id, kind=row.kind, purpose=row.purpose, key=row.key or row.message_id,
        channel=row.channel, ticket_id=row.ticket_id, payload=dict(row.payload or {}),
        state=row.state, attempts=row.attempts, last_error=row.last_error,
        created_at=as_utc(row.created_at), sent_at=as_utc(row.sent_at) if row.sent_at else None,
        sender=row.sender, recipients=tuple(row.recipients), subject=row.subject,
        message_id=row.message_id, raw=row.raw, claimed_by=row.claimed_by or "")


class OutboxStore:
    """The outbox on one session; the caller commits."""

    def __init__(self, session: Session) -> None:
        self.s = session

    # -- queueing (mail is queued by ``SqlOutboxRepository.add``, tuned for batches) --------

    def queue(self, kind: str, purpose: str, *, key: str, at: datetime, channel: str = "",
              ticket_id: int | None = None, payload: dict[str, Any] | None = None) -> bool:
        """Queue work of ``kind`` under its dedupe ``key``; False if that key is queued."""
        if self.s.exec(select(OutboxRow.id).where(OutboxRow.kind == kind,
                                                  OutboxRow.key == key)).first():
            return False
        when = at.astimezone(UTC)
        self.s.add(OutboxRow(
            kind=kind, key=key, purpose=purpose, channel=channel, ticket_id=ticket_id,
            payload=dict(payload or {}), created_at=when, next_attempt_at=when, sender="",
            recipients=[], recipient_key="", message_id=f"{kind}:{key}", raw=b""))
        self.s.flush()
        return True

    def has(self, kind: str, ticket_id: int, purpose: str, states: tuple[str, ...]) -> bool:
        """Work of ``kind`` and ``purpose`` for the ticket is in one of ``states``."""
        return self.s.exec(select(OutboxRow.id).where(
            OutboxRow.kind == kind, OutboxRow.ticket_id == ticket_id,
            OutboxRow.purpose == purpose, col(OutboxRow.state).in_(states))).first() is not None

    # -- delivery ---------------------------------------------------------------------------

    def due(self, kind: str, now: datetime, stale: timedelta, limit: int = 50) -> list[int]:
        """Ids due now: pending and their time has come, or left sending for ``stale``."""
        q = select(OutboxRow.id).where(OutboxRow.kind == kind).where(
            (col(OutboxRow.state) == "pending") & (col(OutboxRow.next_attempt_at) <= now)
            | (col(OutboxRow.state) == "sending")
            & (col(OutboxRow.next_attempt_at) <= now - stale)
        ).order_by(col(OutboxRow.id)).limit(limit)
        return [i for i in self.s.exec(q) if i is not None]

    def claim(self, row_id: int, now: datetime, stale: timedelta,
              owner: str | None = None) -> OutboxItem | None:
        """pending (or stale sending) -> sending, claimed by ``owner``; None if someone else
        has it. The caller commits before delivering, so two senders never both deliver a
        row."""
        result = self.s.exec(update(OutboxRow).where(  # type: ignore[call-overload]
            col(OutboxRow.id) == row_id,
            (col(OutboxRow.state) == "pending")
            | ((col(OutboxRow.state) == "sending")
               & (col(OutboxRow.next_attempt_at) <= now - stale)),
        ).values(state="sending", next_attempt_at=now, claimed_by=owner))
        if not result.rowcount:
            return None
        row = self.s.get(OutboxRow, row_id, populate_existing=True)
        assert row is not None
        return item_of(row)

    def claimants(self) -> set[str]:
        """The owners of the rows being sent now, of every kind (rows without one left out)."""
        q = select(OutboxRow.claimed_by).where(
            OutboxRow.state == "sending", col(OutboxRow.claimed_by).is_not(None)).distinct()
        return {o for o in self.s.exec(q) if o}

    def release(self, owner: str, now: datetime) -> list[int]:
        """The rows ``owner`` (a process gone) was sending, of every kind: pending again, due
        now, with a note (their payload, Message-ID included, unchanged). Returns their ids."""
        ids = [i for i in self.s.exec(select(OutboxRow.id).where(
            OutboxRow.state == "sending", OutboxRow.claimed_by == owner)) if i is not None]
        for row_id in ids:
            row = self._row(row_id)
            row.state, row.next_attempt_at = "pending", now.astimezone(UTC)
            row.last_error = (f"claimed by {owner}, which ended before its outcome was "
                              f"recorded; sent again{'; before: ' if row.last_error else ''}"
                              f"{row.last_error}")[:2000]
            self.s.add(row)
        self.s.flush()
        return ids

    def mark_sent(self, row_id: int, now: datetime) -> bool:
        """-> sent in one statement: the receipt written right after the other side said yes
        (whoever holds the claim by now: what went out is out)."""
        result = self.s.exec(update(OutboxRow).where(  # type: ignore[call-overload]
            col(OutboxRow.id) == row_id, col(OutboxRow.state).in_(("sending", "pending")),
        ).values(state="sent", sent_at=now.astimezone(UTC), last_error="",
                 attempts=OutboxRow.attempts + 1))
        return bool(result.rowcount)

    def done(self, row_id: int, now: datetime) -> None:
        row = self._row(row_id)
        row.attempts += 1
        row.state, row.sent_at, row.last_error = "sent", now, ""
        self.s.add(row)

    def retry(self, row_id: int, error: str, at: datetime | None, *, count: bool = True) -> str:
        """Put the work back until ``at`` (None: give up, failed). Returns the new state."""
        row = self._row(row_id)
        row.attempts += int(count)
        row.last_error = error[:2000]
        if at is None:
            row.state = "failed"
        else:
            row.state, row.next_attempt_at = "pending", at
        self.s.add(row)
        return row.state

    def _row(self, row_id: int) -> OutboxRow:
        row = self.s.get(OutboxRow, row_id)
        assert row is not None
        return row

    # -- looking and mending ----------------------------------------------------------------

    def get(self, row_id: int) -> OutboxItem | None:
        row = self.s.get(OutboxRow, row_id)
        return item_of(row) if row is not None else None

    def items(self, *, kind: str | None = None, state: str | None = None, limit: int = 100,
              newest_first: bool = True) -> list[OutboxItem]:
        q = select(OutboxRow)
        if kind:
            q = q.where(OutboxRow.kind == kind)
        if state:
            q = q.where(OutboxRow.state == state)
        order = col(OutboxRow.id).desc() if newest_first else col(OutboxRow.id)
        return [item_of(r) for r in self.s.exec(q.order_by(order).limit(limit))]

    def counts(self, kind: str | None = None) -> dict[str, int]:
        q = select(OutboxRow.state, func.count())
        if kind:
            q = q.where(OutboxRow.kind == kind)
        return {state: int(n) for state, n in self.s.exec(q.group_by(col(OutboxRow.state)))}

    def requeue(self, row_id: int, now: datetime, note: str = "") -> bool:
        """failed or dropped -> pending, due now with its attempts counted afresh."""
        row = self.s.get(OutboxRow, row_id)
        if row is None or row.state not in ("failed", "dropped"):
            return False
        row.state, row.attempts, row.next_attempt_at = "pending", 0, now.astimezone(UTC)
        if note:
            row.last_error = f"{note}; before: {row.last_error}"[:2000]
        self.s.add(row)
        return True

    def drop(self, row_id: int, note: str = "") -> bool:
        """pending or failed -> dropped: never delivered, kept for the record."""
        row = self.s.get(OutboxRow, row_id)
        if row is None or row.state not in ("pending", "failed"):
            return False
        row.state = "dropped"
        if note:
            row.last_error = f"{note}; before: {row.last_error}"[:2000] if row.last_error \
                else note
        self.s.add(row)
        return True
