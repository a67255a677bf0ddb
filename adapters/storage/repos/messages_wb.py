"""Messages in write-behind mode: new rows held, lookups answered from what was preloaded."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC

from sqlalchemy import literal, union_all
from sqlalchemy import select as sa_select

from adapters.storage.repos.common import MESSAGE as _MESSAGE
from adapters.storage.repos.common import OUTBOX as _OUTBOX
from adapters.storage.repos.common import core as _core
from adapters.storage.repos.common import take_over
from adapters.storage.repos.lookups import Lookups
from adapters.storage.repos.messages import SqlMessageRepository, _message
from bot.model import Message


class WriteBehindMessageRepository(SqlMessageRepository):
    def __init__(self, plain: SqlMessageRepository, seen: Lookups) -> None:
        take_over(self, plain)
        self.seen = seen  # what was preloaded and written

    def add(self, message: Message) -> tuple[Message, bool]:
        digest = message.content_hash
        identity = (message.message_id, digest)
        seen = self.seen
        found_msg = self.find(message.message_id, digest)
        if found_msg is not None:
            return found_msg, False
        at = message.at.astimezone(UTC)
        stored = replace(message, at=at, id=seen.wb.new_id(_MESSAGE))
        seen.wb.add(_MESSAGE, {
            "id": stored.id, "ticket_id": message.ticket_id,
            "direction": message.direction, "channel": message.channel.value,
            "message_id": message.message_id, "content_hash": digest,
            "sender": message.sender, "subject": message.subject, "text": message.text,
            "raw": message.raw, "at": at})
        seen.messages[identity] = stored
        seen.undoable(lambda: seen.messages.pop(identity, None))
        if message.message_id not in seen.message_ids:
            seen.message_ids.add(message.message_id)  # its only copy is this one
            seen.undoable(lambda: seen.message_ids.discard(message.message_id))
        assert stored.id is not None
        seen.sent(message.message_id, 0, stored.id, message.ticket_id)
        return stored, True

    def preload(self, identities: Sequence[tuple[str, str]], thread_keys: Collection[str]
                ) -> None:
        """Read in two statements what ``find`` will be asked of these (Message-ID, content
        hash) pairs and ``ticket_of`` of these Message-IDs; later answers come from memory,
        kept current with what this unit of work writes."""
        seen = self.seen
        mids = sorted({m for m, _ in identities} - seen.message_ids)
        m, o = _MESSAGE.c, _OUTBOX.c
        for start in range(0, len(mids), 500):
            chunk = mids[start:start + 500]
            for row in _core(self.s).execute(sa_select(_MESSAGE).where(m.message_id.in_(chunk))):
                seen.messages[(row.message_id, row.content_hash)] = _message(row)  # type: ignore[arg-type]
            seen.message_ids.update(chunk)
        keys = sorted({k for k in thread_keys if k} - seen.thread.keys())
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            for k in chunk:
                seen.thread[k] = []
            both = union_all(
                sa_select(m.message_id, literal(0).label("src"), m.id, m.ticket_id).where(
                    m.message_id.in_(chunk), m.ticket_id.is_not(None)),
                sa_select(o.message_id, literal(1).label("src"), o.id, o.ticket_id).where(
                    o.message_id.in_(chunk), o.ticket_id.is_not(None)))
            for mid, src, row_id, tid in _core(self.s).execute(both):
                seen.thread[mid].append((src, row_id, tid))

    def find(self, message_id: str, content_hash: str) -> Message | None:
        seen = self.seen
        if message_id in seen.message_ids:
            return seen.messages.get((message_id, content_hash))
        held = seen.messages.get((message_id, content_hash))
        if held is not None:
            return held
        m = _MESSAGE.c
        q = sa_select(_MESSAGE).where(m.message_id == message_id, m.content_hash == content_hash)
        with seen.wb.bypass():  # what is held is in ``seen.messages``: not there
            row = _core(self.s).execute(q).first()
        return _message(row) if row else None  # type: ignore[arg-type]

    def ticket_of(self, message_ids: Sequence[str]) -> int | None:
        ids = [m for m in message_ids if m][:100]
        if ids and all(i in self.seen.thread for i in ids):
            # the latest stored message's ticket, else the latest sent mail's
            hits = [hit for i in ids for hit in self.seen.thread[i]]
            return max(hits, key=lambda h: (-h[0], h[1]))[2] if hits else None
        return super().ticket_of(message_ids)
