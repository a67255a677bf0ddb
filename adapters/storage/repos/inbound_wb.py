"""Inbound mail in write-behind mode: the final states held, sent together."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.storage.repos.common import take_over
from adapters.storage.repos.inbound import SqlInboundRepository
from adapters.storage.writebehind import WriteBehind


class WriteBehindInboundRepository(SqlInboundRepository):
    def __init__(self, plain: SqlInboundRepository, wb: WriteBehind) -> None:
        take_over(self, plain)
        self.wb = wb

    def finish(self, inbound_id: int, state: str, *, at: datetime, reason: str = "",
               ticket_id: int | None = None) -> None:
        self.wb.finish_inbound({"id_": inbound_id, "state": state, "reason": reason[:2000],
                                "ticket_id": ticket_id, "processed_at": at.astimezone(UTC)})
