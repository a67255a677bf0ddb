"""Tickets and their events: the ticket aggregate's repository."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, insert, literal, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from adapters.dbapi import event_of, read_instant, ticket_of
from adapters.storage.repos.common import EVENT as _EVENT
from adapters.storage.repos.common import TICKET as _TICKET
from adapters.storage.repos.common import core as _core
from adapters.storage.tables import ClientRow, TicketRow
from bot.model import Event, TicketStatus
from bot.ticket import Ticket


class SqlTicketRepository:
    def __init__(self, session: Session) -> None:
        self.s = session
        # each ticket's stored projection as this transaction wrote or read it: an append that
        # changes none of it (a MAIL_SENT right after registration) needs no UPDATE
        self._saved: dict[int, tuple[object, ...]] = {}
        # the tickets this transaction added or read: their new events are collected from here
        self._seen: dict[int, Ticket] = {}

    def forget(self) -> None:
        """Drop what this transaction holds in memory (an item failed halfway: the database
        is the truth again)."""
        self._saved.clear()
        self._seen.clear()

    def collect_new_events(self) -> list[tuple[Ticket, list[Event]]]:
        """Save what the tickets of this transaction recorded; each with its saved events
        that nobody was told of yet (once: they are taken)."""
        out = []
        for t in list(self._seen.values()):
            if t.pending:
                self.save(t)
            news = t.take_news()
            if news:
                out.append((t, news))
        return out

    @staticmethod
    def _projection(t: Ticket, updated_at: datetime) -> tuple[object, ...]:
        return (t.priority.value, t.status.value, t.assignee, t.subject, t.kind, updated_at)

    def add(self, ticket: Ticket) -> Ticket:
        last = max([ticket.created_at, *(e.at for e in ticket.pending)])
        values = dict(
            client_id=ticket.client_id, policy=ticket.policy, kind=ticket.kind,
            subject=ticket.subject, body=ticket.body, priority=ticket.priority.value,
            channel=ticket.channel.value, status=ticket.status.value,
            requester=ticket.requester, assignee=ticket.assignee,
            created_at=ticket.created_at, updated_at=last)
        self._store_ticket(ticket, values)
        assert ticket.id is not None
        self._insert_events(ticket)
        self._saved[ticket.id] = self._projection(ticket, last)
        self._seen[ticket.id] = ticket
        return ticket

    def _store_ticket(self, ticket: Ticket, values: dict[str, Any]) -> None:
        """Write the new ticket's row; ``ticket.id`` is set."""
        ticket.id = _core(self.s).execute(
            insert(_TICKET).values(**values).returning(_TICKET.c.id)).scalar_one()

    def get(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        q = select(TicketRow, ClientRow.name).outerjoin(
            ClientRow, col(ClientRow.id) == col(TicketRow.client_id)
        ).where(TicketRow.id == ticket_id).execution_options(populate_existing=True)
        if for_update:
            q = q.with_for_update(of=TicketRow)  # type: ignore[arg-type]
        found = self.s.exec(q).first()
        if found is None:
            return None
        row, client_name = found
        t = ticket_of(vars(row), client_name or "", self._events([ticket_id])[ticket_id])
        self._saved[ticket_id] = self._projection(t, read_instant(row.updated_at))
        self._seen[ticket_id] = t
        return t

    def reserve(self, n: int) -> None:
        """A hint for write-behind mode (about ``n`` tickets will be added): nothing here."""

    def preload(self, ticket_ids: Collection[int], *, for_update: bool = False) -> None:
        """A hint for write-behind mode (these tickets will be read): nothing here."""

    def _events(self, ids: Sequence[int]) -> dict[int, list[Event]]:
        out: dict[int, list[Event]] = defaultdict(list)
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start:chunk_start + 500]
            e = _EVENT.c
            q = sa_select(_EVENT).where(e.ticket_id.in_(chunk)).order_by(e.at, e.id)
            for r in _core(self.s).execute(q):  # Core: a ticket's log can be long
                out[r.ticket_id].append(event_of(r._mapping, r.data))
        return out

    def save(self, ticket: Ticket) -> None:
        """Store the events ``ticket`` recorded since it was read or saved, and its
        projection (status, priority, ...) when that changed."""
        assert ticket.id is not None, "add the ticket before saving it"
        self._seen[ticket.id] = ticket
        if not ticket.pending:
            return
        last = self._insert_events(ticket)
        saved = self._saved.get(ticket.id)
        if saved is not None:
            if self._projection(ticket, max(last, saved[-1])) == saved:  # type: ignore[type-var]
                return
            self._saved[ticket.id] = self._projection(ticket, max(last, saved[-1]))  # type: ignore[type-var]
        values = dict(priority=ticket.priority.value, status=ticket.status.value,
                      assignee=ticket.assignee, subject=ticket.subject, kind=ticket.kind)
        self._store_projection(ticket.id, values, last)

    def _store_projection(self, ticket_id: int, values: dict[str, Any], last: datetime) -> None:
        """Write the ticket's projection; ``updated_at`` only moves forward."""
        updated = literal(last, _TICKET.c.updated_at.type)
        _core(self.s).execute(update(_TICKET).where(_TICKET.c.id == ticket_id).values(
            **values, updated_at=case((_TICKET.c.updated_at < updated, updated),
                                      else_=_TICKET.c.updated_at)))

    def _insert_events(self, ticket: Ticket) -> datetime:
        """One INSERT ... RETURNING for all the ticket's pending events; they join its log
        with their ids. Returns the latest instant among them (the ticket's creation if
        none)."""
        last = ticket.created_at
        events = ticket.pending
        rows = []
        for e in events:
            if e.at.tzinfo is None:
                raise ValueError("event instants must be aware")
            rows.append({"ticket_id": ticket.id, "kind": e.kind.value,
                         "at": e.at.astimezone(UTC), "actor": e.actor, "data": dict(e.data)})
            last = max(last, e.at)
        if not rows:
            return last
        ids = self._store_events(rows)
        ticket.mark_saved([Event(e.kind, e.at, e.actor, dict(e.data), ticket.id, id_)
                           for e, id_ in zip(events, ids, strict=True)])
        return last

    def _store_events(self, rows: list[dict[str, Any]]) -> list[int]:
        """Write the event rows; their ids, in the rows' order."""
        conn = _core(self.s)
        if conn.dialect.name == "sqlite":
            # one multi-row statement; SQLite numbers the rows in insertion order but may
            # return them in any order (asking SQLAlchemy to keep order costs a statement
            # each)
            return sorted(conn.execute(insert(_EVENT).returning(_EVENT.c.id), rows).scalars())
        return list(conn.execute(insert(_EVENT).returning(
            _EVENT.c.id, sort_by_parameter_order=True), rows).scalars())

    def list(self, *, client: str | None = None, statuses: Sequence[TicketStatus] = (),
             limit: int = 100) -> list[Ticket]:
        q = select(TicketRow, ClientRow.name).outerjoin(
            ClientRow, col(ClientRow.id) == col(TicketRow.client_id)
        ).execution_options(populate_existing=True)
        if client is not None:
            q = q.where(ClientRow.name == client)
        if statuses:
            q = q.where(col(TicketRow.status).in_([s.value for s in statuses]))
        q = q.order_by(col(TicketRow.id).desc()).limit(limit)
        return self.from_rows(list(self.s.exec(q)))

    def from_rows(self, rows: Sequence[tuple[TicketRow, str | None]]) -> list[Ticket]:
        """The tickets of rows read elsewhere (each with its client's name), in their order,
        their events read in bulk: how the phone and report repositories build theirs."""
        events = self._events([r.id for r, _ in rows if r.id is not None])
        return [ticket_of(vars(r), n or "", events.get(r.id or 0, [])) for r, n in rows]

