"""Tickets in write-behind mode: new rows and projections held, tickets kept in memory."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select as sa_select

from adapters.dbapi import ticket_of
from adapters.storage.database import as_utc
from adapters.storage.repos.common import CLIENT as _CLIENT
from adapters.storage.repos.common import EVENT as _EVENT
from adapters.storage.repos.common import TICKET as _TICKET
from adapters.storage.repos.common import core as _core
from adapters.storage.repos.common import take_over
from adapters.storage.repos.tickets import SqlTicketRepository
from adapters.storage.writebehind import WriteBehind
from bot.ticket import Ticket


class WriteBehindTicketRepository(SqlTicketRepository):
    """``get`` hands out the tickets this transaction holds (written or read, locked when in
    ``_locked``), so later items of a batch see earlier items' changes."""

    def __init__(self, plain: SqlTicketRepository, wb: WriteBehind) -> None:
        take_over(self, plain)
        self.wb = wb
        self._held: dict[int, Ticket] = {}
        self._locked: set[int] = set()

    def forget(self) -> None:
        """Drop what this transaction holds in memory (an item failed halfway: the database
        and the write-behind buffer are the truth again)."""
        self._held.clear()
        self._locked.clear()
        self._saved.clear()
        self._seen.clear()

    def _store_ticket(self, ticket: Ticket, values: dict[str, Any]) -> None:
        ticket.id = self.wb.new_id(_TICKET)
        self.wb.add(_TICKET, {"id": ticket.id, **values})
        self._held[ticket.id] = ticket
        self._locked.add(ticket.id)

    def get(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        held = self._held.get(ticket_id)
        if held is not None and (ticket_id in self._locked or not for_update):
            return held
        t = super().get(ticket_id, for_update=for_update)
        if t is not None:
            self._hold(t, for_update)
        return t

    def _hold(self, t: Ticket, locked: bool) -> None:
        if t.id is not None:
            self._held[t.id] = t
            self._seen[t.id] = t
            if locked:
                self._locked.add(t.id)

    def reserve(self, n: int) -> None:
        """About ``n`` tickets will be added; their ids are taken together (any left unused
        are skipped, as after a rollback)."""
        if n > 0:
            self.wb.reserve(_TICKET, n)

    def preload(self, ticket_ids: Collection[int], *, for_update: bool = False) -> None:
        """Read these tickets (and lock them) in two statements; ``get`` then answers from
        memory."""
        ids = sorted({i for i in ticket_ids if i not in self._held})
        if not ids:
            return
        t_, c_ = _TICKET.c, _CLIENT.c
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            q = sa_select(_TICKET, c_.name.label("client_name")).outerjoin(
                _CLIENT, c_.id == t_.client_id).where(t_.id.in_(chunk)).order_by(t_.id)
            if for_update:
                q = q.with_for_update(of=_TICKET)
            rows = list(_core(self.s).execute(q))
            events = self._events([r.id for r in rows])
            for row in rows:
                t = ticket_of(row._mapping, row.client_name or "", events.get(row.id, []))
                assert t.id is not None
                self._saved[t.id] = self._projection(t, as_utc(row.updated_at))
                self._hold(t, for_update)

    def _store_projection(self, ticket_id: int, values: dict[str, Any], last: datetime) -> None:
        self.wb.update_ticket(ticket_id, {**values, "updated_at": last.astimezone(UTC)})

    def _store_events(self, rows: list[dict[str, Any]]) -> list[int]:
        ids = []
        for row in rows:
            row["id"] = self.wb.new_id(_EVENT)
            self.wb.add(_EVENT, row)
            ids.append(row["id"])
        return ids
