"""Re-plan requests in write-behind mode: the rows held, sent together."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.storage.repos.common import REPLAN, take_over
from adapters.storage.repos.replans import SqlReminderRepository
from adapters.storage.writebehind import WriteBehind


class WriteBehindReminderRepository(SqlReminderRepository):
    def __init__(self, plain: SqlReminderRepository, wb: WriteBehind) -> None:
        take_over(self, plain)
        self.wb = wb

    def request_replan(self, ticket_id: int, *, at: datetime) -> None:
        self.wb.add(REPLAN, {"ticket_id": ticket_id, "requested_at": at.astimezone(UTC)})
