"""Storage for reports: a period's tickets and their events, loaded in a few bulk queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from adapters.storage.tables import TicketRow
from bot.model import Ticket, TicketStatus

if TYPE_CHECKING:
    from adapters.storage.uow import SqlTicketRepository

NOT_CLOSED = [s.value for s in TicketStatus if s != TicketStatus.CLOSED]


class SqlReportRepository:
    def __init__(self, session: Session, tickets: SqlTicketRepository) -> None:
        self.s = session
        self._tickets = tickets  # rows to tickets, events in bulk: one way to do it

    def period_tickets(self, client_id: int, start: datetime, end: datetime, *,
                       include_closed: bool = False) -> list[Ticket]:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        base = select(TicketRow).where(TicketRow.client_id == client_id,
                                       col(TicketRow.created_at) < end)
        # two queries, each served by its own index, rather than one OR the planner may not split
        rows = {r.id: r for r in self.s.exec(base.where(col(TicketRow.updated_at) >= start))}
        still = base if include_closed else base.where(col(TicketRow.status).in_(NOT_CLOSED))
        for r in self.s.exec(still):
            rows.setdefault(r.id, r)
        ordered = sorted(rows.values(), key=lambda r: r.id or 0)
        ids = [r.id for r in ordered if r.id is not None]
        events = self._tickets._events(ids)
        return [self._tickets._ticket(r, "", events.get(r.id or 0, [])) for r in ordered]
