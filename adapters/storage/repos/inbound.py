"""Raw inbound mail (the one inbox's rows of kind ``mail``): stored first, then processed, with
attempts and quarantine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import insert, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from adapters.storage.database import as_utc
from adapters.storage.inbox import Attempts, InboxStore
from adapters.storage.repos.common import INBOUND as _INBOUND
from adapters.storage.repos.common import core as _core
from adapters.storage.tables import InboundRow
from bot.errors import StorageError
from bot.model import InboundItem

MAIL_BACKOFF = (30, 300, 1800, 3600)
"""Seconds before a message whose processing failed is tried again, after each attempt."""


def _inbound(row: InboundRow) -> InboundItem:
    return InboundItem(id=row.id or 0, channel=row.channel, raw=row.raw,
                       received_at=as_utc(row.received_at), mail_from=row.mail_from,
                       peer=row.peer, attempts=row.attempts, state=row.state,
                       reason=row.reason, ticket_id=row.ticket_id)


class SqlInboundRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def pending(self, limit: int = 100, *, now: datetime | None = None) -> list[InboundItem]:
        q = select(InboundRow).where(InboundRow.state == "pending", InboundRow.kind == "mail")
        if now is not None:  # those waiting out their backoff wait
            q = q.where(or_(col(InboundRow.next_attempt_at).is_(None),
                            col(InboundRow.next_attempt_at) <= now.astimezone(UTC)))
        q = q.order_by(col(InboundRow.id)).limit(limit)
        return [_inbound(r) for r in self.s.exec(q)]

    def get(self, inbound_id: int, *, for_update: bool = False) -> InboundItem | None:
        q = sa_select(_INBOUND).where(_INBOUND.c.id == inbound_id, _INBOUND.c.kind == "mail")
        if for_update:
            q = q.with_for_update()
        row = _core(self.s).execute(q).first()
        return _inbound(row) if row else None  # type: ignore[arg-type]

    def get_many(self, inbound_ids: Sequence[int], *, for_update: bool = False,
                 raw: bool = True) -> dict[int, InboundItem]:
        out: dict[int, InboundItem] = {}
        ids = list(dict.fromkeys(inbound_ids))
        i = _INBOUND.c
        columns = list(_INBOUND.c) if raw else [c for c in _INBOUND.c if c is not i.raw]
        for start in range(0, len(ids), 500):
            q = sa_select(*columns).where(i.id.in_(ids[start:start + 500]))
            if for_update:
                q = q.with_for_update()
            for row in _core(self.s).execute(q.order_by(i.id)):
                out[row.id] = _inbound(row) if raw else InboundItem(  # type: ignore[arg-type]
                    id=row.id, channel=row.channel, raw=b"",
                    received_at=as_utc(row.received_at), mail_from=row.mail_from,
                    peer=row.peer, attempts=row.attempts, state=row.state,
                    reason=row.reason, ticket_id=row.ticket_id)
        return out

    def list(self, state: str | None = None, limit: int = 100) -> list[InboundItem]:
        q = select(InboundRow).where(InboundRow.kind == "mail")
        if state:
            q = q.where(InboundRow.state == state)
        return [_inbound(r) for r in self.s.exec(q.order_by(col(InboundRow.id).desc())
                                                  .limit(limit))]

    def finish(self, inbound_id: int, state: str, *, at: datetime, reason: str = "",
               ticket_id: int | None = None) -> None:
        t = _INBOUND
        done = _core(self.s).execute(update(t).where(t.c.id == inbound_id).values(
            state=state, reason=reason[:2000], ticket_id=ticket_id,
            processed_at=at.astimezone(UTC), attempts=t.c.attempts + 1))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise StorageError(f"no inbound message {inbound_id}")

    def failed(self, inbound_id: int, error: str, *, at: datetime, max_attempts: int) -> str:
        if self.s.get(InboundRow, inbound_id) is None:
            raise StorageError(f"no inbound message {inbound_id}")
        # the one inbox's rule, with the mail's backoff: an outage of a few minutes does not
        # use up a message's attempts and quarantine it
        backoff = MAIL_BACKOFF[:max_attempts - 1]
        backoff += (backoff[-1] if backoff else 0,) * (max_attempts - 1 - len(backoff))
        return InboxStore(self.s).failed(inbound_id, error, at=at, attempts=Attempts(backoff))

    def requeue(self, inbound_id: int) -> bool:
        return InboxStore(self.s).requeue(inbound_id)

    def add(self, raw: bytes, *, key: str, channel: str, peer: str, at: datetime) -> int:
        """Store a message (pending) in this transaction, under ``key`` (unique among mail):
        for an import, whose source keeps the message until the commit."""
        t = _INBOUND
        return int(_core(self.s).execute(insert(t).returning(t.c.id).values(
            kind="mail", key=key, received_at=at.astimezone(UTC), channel=channel, peer=peer,
            mail_from="", rcpt_to=[], raw=raw, size=len(raw), state="pending", reason="",
            attempts=0)).scalar_one())

    def known_keys(self, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` some stored mail has."""
        t, found = _INBOUND, set()
        for start in range(0, len(keys), 500):
            found.update(_core(self.s).execute(sa_select(t.c.key).where(
                t.c.kind == "mail", t.c.key.in_(keys[start:start + 500]))).scalars())
        return found
