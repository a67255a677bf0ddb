"""What every repository shares: the tables as Core objects and the session's connection."""

from __future__ import annotations

from sqlalchemy import Connection, Table
from sqlmodel import Session

from adapters.storage.tables import (
    ClientRow,
    EventRow,
    InboundRow,
    MessageRow,
    OutboxRow,
    ReplanRow,
    TicketRow,
)

TICKET: Table = TicketRow.__table__  # type: ignore[attr-defined]
EVENT: Table = EventRow.__table__  # type: ignore[attr-defined]
MESSAGE: Table = MessageRow.__table__  # type: ignore[attr-defined]
OUTBOX: Table = OutboxRow.__table__  # type: ignore[attr-defined]
REPLAN: Table = ReplanRow.__table__  # type: ignore[attr-defined]
INBOUND: Table = InboundRow.__table__  # type: ignore[attr-defined]
CLIENT: Table = ClientRow.__table__  # type: ignore[attr-defined]


def core(s: Session) -> Connection:
    """The session's connection, for Core statements: cheaper than the ORM's execute path and
    inside the same transaction."""
    return s.connection()
