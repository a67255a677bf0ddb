"""Reminder storage: re-plan requests (inside a ticket action's transaction) and, for the
scheduler, bulk reads of what planning needs plus the claim/deliver/skip bookkeeping.

Bulk reads select plain columns (no ORM objects) a chunk of tickets at a time, so rebuilding
the schedule for 100,000 open tickets is a handful of queries per 5,000 tickets.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, bindparam, delete, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from adapters.storage.database import Database, as_utc
from adapters.storage.repos.common import REPLAN as _REPLAN
from adapters.storage.tables import ClientRow, EventRow, ReminderRow, TicketRow
from bot.change_requests import CHANGE_REQUEST
from bot.model import Channel, Event, EventKind, TicketStatus
from bot.priority import Priority
from bot.reminders import Reminder
from bot.ticket import Ticket

ACTIVE = (TicketStatus.NEW.value, TicketStatus.OPEN.value, TicketStatus.PAUSED.value)
_R = ReminderRow.__table__  # type: ignore[attr-defined]


def _parse_sqlite(text: str) -> datetime:
    """An instant as SQLite stores it (ISO text, UTC, naive): hundreds of thousands of these
    in a rebuild, so without a call more than needed."""
    dt = datetime.fromisoformat(text)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


_PRIORITIES = {p.value: p for p in Priority}


@dataclass
class OpenTicket:
    """What planning needs of an open ticket: its policy, priority, kind and registration
    instant (which clocks it runs: ``bot.change_requests.clock_specs``; the instant is read for
    a change request only, whose answer clock counts from it), events, recorded keys."""

    id: int
    policy: str
    priority: Priority
    kind: str = "incident"
    created_at: datetime | None = None
    status: str = "new"
    subject: str = ""
    client_name: str = ""
    assignee: str | None = None
    events: list[Event] = field(default_factory=list)
    done: set[str] = field(default_factory=set)

    def ticket(self) -> Ticket:
        """As a domain ticket (with the events planning needs), for the alert's words."""
        return Ticket(client_id=None, client_name=self.client_name, policy=self.policy,
                      subject=self.subject, priority=self.priority, channel=Channel.CLI,
                      status=TicketStatus(self.status), kind=self.kind,
                      created_at=self.created_at or datetime.now(UTC), assignee=self.assignee,
                      id=self.id, events=sorted(self.events, key=lambda e: (e.at, e.id or 0)))


@dataclass(frozen=True)
class Unfinished:
    """A reminder claimed but not (fully) delivered: by a process that died, or a failed try."""

    key: str
    ticket_id: int
    clock: str
    threshold: str
    repeat: int
    kind: str
    due_at: datetime
    attempts: int
    sinks_done: tuple[str, ...]


class ReminderStore:
    def __init__(self, db: Database, chunk: int = 5000) -> None:
        self.db = db
        self.chunk = chunk

    # -- reading -----------------------------------------------------------------------------

    def open_tickets(self, ids: Collection[int] | None = None) -> Iterator[list[OpenTicket]]:
        """Open tickets (all, or those of ``ids`` still open) in chunks, oldest first."""
        wanted = sorted(ids) if ids is not None else None
        last = 0
        pos = 0
        while True:
            created: Any = TicketRow.created_at
            parse = as_utc
            if self.db.dialect == "sqlite":  # ISO text, parsed in C (as the events' instants)
                created, parse = type_coerce(TicketRow.created_at, String), _parse_sqlite
            q = select(TicketRow.id, TicketRow.policy, TicketRow.priority, TicketRow.kind,
                       created).where(
                TicketRow.status.in_(ACTIVE))  # type: ignore[attr-defined]
            if wanted is None:
                q = q.where(TicketRow.id > last).order_by(TicketRow.id).limit(self.chunk)
            else:
                part = wanted[pos:pos + self.chunk]
                pos += self.chunk
                if not part:
                    return
                q = q.where(TicketRow.id.in_(part)).order_by(TicketRow.id)  # type: ignore[union-attr]
            with self.db.engine.connect() as conn:
                rows = conn.execute(q).all()
                if not rows and wanted is None:
                    return
                # the registration instant matters to a change request's answer clock only
                batch = {r[0]: OpenTicket(r[0], r[1], _PRIORITIES[r[2]], r[3],
                                          parse(r[4]) if r[3] == CHANGE_REQUEST else None)
                         for r in rows}
                if batch:
                    self._fill(conn, batch, (rows[0][0], rows[-1][0]) if wanted is None
                               else None)
            if wanted is None:
                last = rows[-1][0]
            if batch:
                yield list(batch.values())

    def _fill(self, conn: Any, batch: dict[int, OpenTicket],
              span: tuple[int, int] | None) -> None:
        """Events and recorded keys of ``batch``: by a join on the open tickets of an id span
        (the full scan: no list of 5,000 parameters), or by the list of ids."""
        ids = list(batch)
        at_col: Any = EventRow.at
        parse = as_utc
        if self.db.dialect == "sqlite":  # stored as ISO text: parsing it in C is 10x faster
            at_col = type_coerce(EventRow.at, String)
            parse = _parse_sqlite
        q = select(EventRow.ticket_id, EventRow.kind, at_col, EventRow.id)
        keys_q = select(_R.c.ticket_id, _R.c.key)
        if span is None:
            q = q.where(EventRow.ticket_id.in_(ids))  # type: ignore[attr-defined]
            keys_q = keys_q.where(_R.c.ticket_id.in_(ids))
        else:
            tid_col: Any = TicketRow.id
            among = (tid_col.between(*span), TicketRow.status.in_(ACTIVE))  # type: ignore[attr-defined]
            q = q.join(TicketRow, tid_col == EventRow.ticket_id).where(*among)
            keys_q = keys_q.join(TicketRow, tid_col == _R.c.ticket_id).where(*among)
        kinds = {k.value: k for k in EventKind}
        for tid, kind, at, eid in conn.execute(q):
            t = batch.get(tid)  # None: it changed state between the two reads
            if t is not None:
                t.events.append(Event(kinds[kind], parse(at), ticket_id=tid, id=eid))
        for tid, key in conn.execute(keys_q):
            t = batch.get(tid)
            if t is not None:
                t.done.add(key)

    def describe(self, tickets: Sequence[OpenTicket]) -> None:
        """Fill in what an alert shows (subject, client, assignee, status), in one query: only
        for the few tickets that have something to send."""
        by_id = {t.id: t for t in tickets}
        q = select(TicketRow.id, TicketRow.status, TicketRow.subject, ClientRow.name,
                   TicketRow.assignee, TicketRow.created_at).outerjoin(
            ClientRow, ClientRow.id == TicketRow.client_id).where(  # type: ignore[arg-type]
            TicketRow.id.in_(list(by_id)))  # type: ignore[union-attr]
        with self.db.engine.connect() as conn:
            for tid, status, subject, client, assignee, created in conn.execute(q):
                t = by_id[tid]
                t.status, t.subject, t.client_name = status, subject, client or ""
                t.assignee, t.created_at = assignee, as_utc(created)

    def take_replans(self) -> set[int]:
        """The tickets whose re-plan was requested since the last call (the requests go)."""
        with self.db.engine.connect() as conn:  # a read first: no write lock when idle
            if conn.execute(select(_REPLAN.c.id).limit(1)).first() is None:
                return set()
        with self.db.write_engine.begin() as conn:
            rows = conn.execute(delete(_REPLAN).returning(_REPLAN.c.ticket_id)).all()
        return {r[0] for r in rows}

    def unfinished(self, now: datetime) -> list[Unfinished]:
        q = select(_R.c.key, _R.c.ticket_id, _R.c.clock, _R.c.threshold, _R.c.repeat,
                   _R.c.kind, _R.c.due_at, _R.c.attempts, _R.c.sinks_done).where(
            _R.c.state == "claimed",
            (_R.c.next_attempt_at.is_(None)) | (_R.c.next_attempt_at <= now))
        with self.db.engine.connect() as conn:
            return [Unfinished(r[0], r[1], r[2], r[3], r[4], r[5], as_utc(r[6]), r[7],
                               tuple(r[8] or ())) for r in conn.execute(q.order_by(_R.c.id))]

    # -- writing -----------------------------------------------------------------------------

    def _insert(self) -> Any:
        return (pg_insert if self.db.dialect == "postgresql" else sqlite_insert)(_R)

    def _rows(self, items: Sequence[tuple[Reminder, str, str]], now: datetime) -> list[dict]:
        return [{"key": r.key, "ticket_id": r.ticket_id, "clock": r.clock,
                 "threshold": r.threshold, "repeat": r.repeat, "kind": r.kind,
                 "due_at": r.due_at, "claimed_at": now, "state": state, "late": r.late(now),
                 "reason": reason, "text": "", "sinks_done": [], "attempts": 0,
                 "last_error": ""} for r, state, reason in items]

    def claim(self, reminders: Sequence[Reminder], now: datetime) -> set[str]:
        """Record ``reminders`` as claimed (committed before anything is delivered); returns
        the keys this call claimed. A key recorded already (by a restart or another instance)
        is left alone and not returned: it is never delivered twice."""
        claimed: set[str] = set()
        for i in range(0, len(reminders), 500):
            rows = self._rows([(r, "claimed", "") for r in reminders[i:i + 500]], now)
            stmt = self._insert().values(rows).on_conflict_do_nothing(
                index_elements=["key"]).returning(_R.c.key)
            with self.db.write_engine.begin() as conn:
                claimed |= {k for (k,) in conn.execute(stmt)}
        return claimed

    def skip(self, items: Sequence[tuple[Reminder, str]], now: datetime) -> None:
        """Record reminders that will not go out (superseded), with the reason."""
        for i in range(0, len(items), 500):
            rows = self._rows([(r, "skipped", why) for r, why in items[i:i + 500]], now)
            with self.db.write_engine.begin() as conn:
                conn.execute(self._insert().values(rows).on_conflict_do_nothing(
                    index_elements=["key"]))

    def finish(self, outcomes: Sequence[dict[str, Any]]) -> None:
        """Store delivery outcomes: dicts with ``k`` (the key), ``state``, ``sinks_done``,
        ``text``, ``late``, ``attempts``, ``next_attempt_at``, ``last_error``, ``sent_at``,
        ``reason``."""
        if not outcomes:
            return
        stmt = update(_R).where(_R.c.key == bindparam("k")).values(
            state=bindparam("state"), sinks_done=bindparam("sinks_done"),
            text=bindparam("text"), late=bindparam("late"), attempts=bindparam("attempts"),
            next_attempt_at=bindparam("next_attempt_at"), last_error=bindparam("last_error"),
            sent_at=bindparam("sent_at"), reason=bindparam("reason"))
        with self.db.write_engine.begin() as conn:
            conn.execute(stmt, list(outcomes))

    def list(self, ticket_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Recorded reminders, newest first (for ``supportbot reminders list``)."""
        q = select(_R)
        if ticket_id is not None:
            q = q.where(_R.c.ticket_id == ticket_id)
        with self.db.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q.order_by(_R.c.id.desc())
                                                            .limit(limit))]
        for r in rows:
            for k in ("due_at", "claimed_at", "next_attempt_at", "sent_at"):
                if r[k] is not None:
                    r[k] = as_utc(r[k])
        return rows


__all__ = ["OpenTicket", "ReminderStore", "Unfinished"]
