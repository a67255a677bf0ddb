"""Outbound mail: queued with the transaction that decided it, sent by the relay."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from adapters.storage.repos.common import OUTBOX as _OUTBOX
from adapters.storage.repos.common import core as _core
from adapters.storage.tables import OutboxRow
from bot.model import OutboundMail


class SqlOutboxRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, mail: OutboundMail, *, at: datetime) -> bool:
        values = self._values(mail, at)
        conn = _core(self.s)
        make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        q = make(_OUTBOX).values(**values).on_conflict_do_nothing(
            index_elements=["message_id"]).returning(_OUTBOX.c.id)
        return conn.execute(q).first() is not None

    @staticmethod
    def _values(mail: OutboundMail, at: datetime) -> dict[str, Any]:
        when = at.astimezone(UTC)
        key = (mail.recipients[0] if mail.recipients else "").lower()
        return dict(
            created_at=when, ticket_id=mail.ticket_id, kind="mail", key=mail.message_id,
            channel="", payload={}, purpose=mail.purpose,
            sender=mail.sender, recipients=list(mail.recipients), recipient_key=key,
            message_id=mail.message_id, subject=mail.subject, raw=mail.raw, state="pending",
            attempts=0, next_attempt_at=when, last_error="")

    def preload_counts(self, recipients: Collection[str], since: datetime) -> None:
        """A hint for write-behind mode (``count_since`` will be asked of these): nothing
        here."""

    def count_since(self, recipient: str, purposes: Sequence[str], since: datetime) -> int:
        key = recipient.lower()
        q = select(func.count()).select_from(OutboxRow).where(
            OutboxRow.recipient_key == key,
            col(OutboxRow.purpose).in_(list(purposes)),
            col(OutboxRow.created_at) >= since.astimezone(UTC))
        return int(self.s.exec(q).one())

    def sent_message_ids(self, ticket_id: int) -> list[str]:
        q = select(OutboxRow.message_id).where(OutboxRow.ticket_id == ticket_id,
                                               OutboxRow.kind == "mail")
        return list(self.s.exec(q))

