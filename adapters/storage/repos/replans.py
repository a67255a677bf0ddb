"""Re-plan requests: a ticket's reminders are planned again after the transaction commits."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from adapters.storage.tables import ReplanRow


class SqlReminderRepository:
    """The unit of work's side: re-plan requests commit with the events that caused them."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def request_replan(self, ticket_id: int, *, at: datetime) -> None:
        self.s.add(ReplanRow(ticket_id=ticket_id, requested_at=at.astimezone(UTC)))
