"""Stored messages (mail, Slack, calls) and the threading lookups over them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC

from sqlalchemy import insert, literal, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from adapters.storage.database import as_utc
from adapters.storage.repos.common import MESSAGE as _MESSAGE
from adapters.storage.repos.common import OUTBOX as _OUTBOX
from adapters.storage.repos.common import core as _core
from adapters.storage.tables import MessageRow
from bot.model import Channel, Message


def _message(row: MessageRow) -> Message:
    return Message(direction=row.direction, channel=Channel(row.channel),
                   message_id=row.message_id, raw=row.raw, at=as_utc(row.at), sender=row.sender,
                   subject=row.subject, text=row.text, ticket_id=row.ticket_id, id=row.id)


class SqlMessageRepository:
    def __init__(self, session: Session) -> None:
        self.s = session
        self._absent: set[tuple[str, str]] = set()  # found absent by find() in this transaction

    def add(self, message: Message) -> tuple[Message, bool]:
        digest = message.content_hash
        identity = (message.message_id, digest)
        if identity not in self._absent:
            q = select(MessageRow).where(MessageRow.message_id == message.message_id,
                                         MessageRow.content_hash == digest)
            found = self.s.exec(q).first()
            if found is not None:
                return _message(found), False
        self._absent.discard(identity)
        at = message.at.astimezone(UTC)
        id_ = _core(self.s).execute(insert(_MESSAGE).values(
            ticket_id=message.ticket_id, direction=message.direction,
            channel=message.channel.value, message_id=message.message_id, content_hash=digest,
            sender=message.sender, subject=message.subject, text=message.text,
            raw=message.raw, at=at).returning(_MESSAGE.c.id)).scalar_one()
        return replace(message, at=at, id=id_), True

    def preload(self, identities: Sequence[tuple[str, str]], thread_keys: Collection[str]
                ) -> None:
        """A hint for write-behind mode (these will be looked up): nothing here."""

    def for_ticket(self, ticket_id: int) -> list[Message]:
        q = select(MessageRow).where(MessageRow.ticket_id == ticket_id).order_by(
            col(MessageRow.at), col(MessageRow.id))
        return [_message(r) for r in self.s.exec(q)]

    def find(self, message_id: str, content_hash: str) -> Message | None:
        m = _MESSAGE.c
        q = sa_select(_MESSAGE).where(m.message_id == message_id, m.content_hash == content_hash)
        row = _core(self.s).execute(q).first()
        if row is None:
            self._absent.add((message_id, content_hash))
        return _message(row) if row else None

    def ticket_of(self, message_ids: Sequence[str]) -> int | None:
        ids = [m for m in message_ids if m][:100]
        if not ids:
            return None
        # one statement: the latest stored message's ticket, else the latest sent mail's
        m, o = _MESSAGE.c, _OUTBOX.c
        both = union_all(
            sa_select(m.ticket_id, literal(0).label("src"), m.id.label("row")).where(
                m.message_id.in_(ids), m.ticket_id.is_not(None)),
            sa_select(o.ticket_id, literal(1).label("src"), o.id.label("row")).where(
                o.message_id.in_(ids), o.ticket_id.is_not(None)),
        ).subquery()
        q = sa_select(both.c.ticket_id).order_by(both.c.src, both.c.row.desc()).limit(1)
        return _core(self.s).execute(q).scalar()


