"""Re-plan requests in write-behind mode: the rows held, sent together."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.storage.repos.common import REPLAN
from adapters.storage.repos.replans import SqlReminderRepository
from adapters.storage.writebehind import WriteBehind


class WriteBehindReminderRepository(SqlReminderRepository):
    def __init__(self, plain: SqlReminderRepository, wb: WriteBehind) -> None:
        super().__init__(plain.s)
        self.wb = wb

    def request_replan(self, ticket_id: int, *, at: datetime) -> None:
        self.wb.add(REPLAN, {"ticket_id": ticket_id, "requested_at": at.astimezone(UTC)})
