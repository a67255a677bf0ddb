"""What every repository shares: the tables as Core objects, the session's connection, and
how a write-behind variant takes over a plain repository's memory of the transaction."""

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


def take_over(variant: object, plain: object) -> None:
    """Start the write-behind ``variant`` from everything ``plain`` knows of this transaction
    (its session and caches: the same objects, not copies)."""
    vars(variant).update(vars(plain))


def hand_back(variant: object, plain: object) -> None:
    """Continue ``plain`` from what ``variant`` knows now, including attributes the variant
    rebound (a cache replaced rather than changed); the variant's own attributes stay with it.
    With ``take_over`` this keeps per-transaction state whole whatever fields a repository
    adds."""
    for name in vars(plain):
        setattr(plain, name, getattr(variant, name))
