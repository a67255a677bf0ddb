"""Tickets read straight from the tables with the DB-API driver, for ``tickets list``.

Listing is what people run most and wait on; through SQLAlchemy and the storage models the
command spends most of its time importing them. This reader answers the same question as
``SqlTicketRepository.list`` (the newest tickets first, with every event, filtered by client
and status) with two plain queries, and rebuilds the aggregates with the repository's own
``ticket_of`` / ``event_of``. ``tests/test_dbapi_read.py`` checks, on SQLite and PostgreSQL,
that both give the same tickets.

It reads only: a read-only SQLite connection, a PostgreSQL transaction that is rolled back.
``open_reader`` answers None for anything it does not know for sure (no database file yet, a
schema other than ``SCHEMA_VERSION``), and the command then takes the full path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.dbapi import SCHEMA_VERSION, Target, event_of, first_value, ticket_of
from bot.model import Event, TicketStatus

if TYPE_CHECKING:
    from bot.ticket import Ticket

_TICKET_COLUMNS = ("id", "client_id", "policy", "kind", "subject", "body", "priority", "channel",
                   "status", "requester", "assignee", "created_at")
_EVENT_COLUMNS = ("id", "ticket_id", "kind", "at", "actor", "data")
_CHUNK = 500


class TicketReader:
    """An open read-only connection; ``close()`` when done."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.mark = "?" if dialect == "sqlite" else "%s"

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql.replace("%s", self.mark), tuple(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def has_client(self, name: str) -> bool:
        return bool(self._rows("SELECT 1 AS one FROM client WHERE name = %s", (name,)))

    def tickets(self, *, client: str | None = None, statuses: Sequence[TicketStatus] = (),
                limit: int = 100) -> list[Ticket]:
        where, params = [], []
        if client is not None:
            where.append("c.name = %s")
            params.append(client)
        if statuses:
            where.append(f"t.status IN ({', '.join('%s' for _ in statuses)})")
            params.extend(s.value for s in statuses)
        sql = (f"SELECT {', '.join('t.' + c for c in _TICKET_COLUMNS)}, c.name AS client_name "
               "FROM ticket t LEFT OUTER JOIN client c ON c.id = t.client_id"
               + (f" WHERE {' AND '.join(where)}" if where else "")
               + " ORDER BY t.id DESC LIMIT %s")
        rows = self._rows(sql, [*params, limit])
        events = self._events([r["id"] for r in rows])
        return [ticket_of(r, r["client_name"] or "", events.get(r["id"], [])) for r in rows]

    def _events(self, ids: Sequence[int]) -> dict[int, list[Event]]:
        out: dict[int, list[Event]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            sql = (f"SELECT {', '.join(_EVENT_COLUMNS)} FROM event WHERE ticket_id IN "
                   f"({', '.join('%s' for _ in chunk)}) ORDER BY at, id")
            for r in self._rows(sql, chunk):
                data = r["data"]
                out.setdefault(r["ticket_id"], []).append(
                    event_of(r, json.loads(data) if isinstance(data, str | bytes) else data))
        return out

    def close(self) -> None:
        if self.dialect == "postgresql":
            self.conn.rollback()
        self.conn.close()


def open_reader(target: Target) -> TicketReader | None:
    """A reader on ``target``, or None when the direct path should step aside."""
    if target.dialect == "sqlite":
        import sqlite3

        if not os.path.exists(target.location):
            return None
        uri = Path(target.location).as_uri() + "?mode=ro"
        conn: Any = sqlite3.connect(uri, uri=True, timeout=30)
    else:
        import psycopg

        options = f"-csearch_path={target.schema}" if target.schema else ""
        conn = psycopg.connect(target.location, options=options)
    reader = TicketReader(conn, target.dialect)
    try:
        version = first_value(conn.execute("SELECT version FROM schema_version WHERE id = 1")
                              .fetchone())
    except Exception:  # no schema yet, or not ours: the full path says what is wrong
        reader.close()
        return None
    if version != SCHEMA_VERSION:
        reader.close()
        return None
    return reader
