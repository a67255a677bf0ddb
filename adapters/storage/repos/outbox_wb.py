"""Outbound mail in write-behind mode: new rows held, counts answered from memory."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from sqlalchemy import select as sa_select

from adapters.storage.database import as_utc
from adapters.storage.repos.common import OUTBOX as _OUTBOX
from adapters.storage.repos.common import core as _core
from adapters.storage.repos.common import take_over
from adapters.storage.repos.lookups import Lookups
from adapters.storage.repos.outbox import SqlOutboxRepository
from bot.model import OutboundMail


class WriteBehindOutboxRepository(SqlOutboxRepository):
    def __init__(self, plain: SqlOutboxRepository, seen: Lookups) -> None:
        take_over(self, plain)
        self.seen = seen  # what was preloaded and written
        self._queued: set[str] = set()  # Message-IDs queued meanwhile

    def add(self, mail: OutboundMail, *, at: datetime) -> bool:
        values = self._values(mail, at)
        when, key = values["created_at"], values["recipient_key"]
        seen = self.seen
        # a mail queued before this transaction is found when the rows are sent, and the
        # batch is then redone one message at a time (where this returns False)
        if mail.message_id in self._queued:
            return False
        row_id = seen.wb.new_id(_OUTBOX)
        seen.wb.add(_OUTBOX, {"id": row_id, **values})
        self._queued.add(mail.message_id)
        seen.undoable(lambda: self._queued.discard(mail.message_id))
        seen.sent(mail.message_id, 1, row_id, mail.ticket_id)
        counted = seen.recipients.get(key)
        if counted is not None:
            entry = (mail.purpose, when)
            counted.append(entry)
            seen.undoable(lambda: counted.remove(entry))
        return True

    def preload_counts(self, recipients: Collection[str], since: datetime) -> None:
        """Read in one statement what ``count_since`` will be asked of these recipients for
        instants from ``since`` on."""
        seen = self.seen
        keys = sorted({r.lower() for r in recipients if r})
        since = since.astimezone(UTC)
        if seen.since is not None and seen.since > since:
            seen.recipients.clear()  # an earlier start: read again
        seen.since = since if seen.since is None or seen.since > since else seen.since
        keys = [k for k in keys if k not in seen.recipients]
        o = _OUTBOX.c
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            for k in chunk:
                seen.recipients[k] = []
            q = sa_select(o.recipient_key, o.purpose, o.created_at).where(
                o.recipient_key.in_(chunk), o.created_at >= seen.since)
            for k, purpose, created in _core(self.s).execute(q):
                seen.recipients[k].append((purpose, as_utc(created)))

    def count_since(self, recipient: str, purposes: Sequence[str], since: datetime) -> int:
        key = recipient.lower()
        seen = self.seen
        if seen.since is not None and seen.since <= since and key in seen.recipients:
            return sum(1 for p, at in seen.recipients[key] if p in purposes and at >= since)
        return super().count_since(recipient, purposes, since)
