"""What ``supportbot outbox list|show`` reads: queued, sent and failed mail, newest first."""

from __future__ import annotations

from adapters.mail.outbound import outbox_rows
from adapters.storage import Database
from adapters.storage.tables import OutboxRow
from bot.errors import NotFound


class OutboxAdmin:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self, state: str | None = None, limit: int = 50) -> list[OutboxRow]:
        return outbox_rows(self.db, state, limit)

    def get(self, outbox_id: int) -> OutboxRow:
        """One outgoing mail with its raw bytes; NotFound when there is none."""
        with self.db.session() as s:
            row = s.get(OutboxRow, outbox_id)
        if row is None:
            raise NotFound(f"no outbox mail {outbox_id}")
        return row
