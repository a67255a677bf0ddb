"""Write-behind: the rows a unit of work writes during a batch are held and sent together.

A backlog of mail is processed many messages per transaction. Sent one statement at a time, a
message's writes cost ~10 statements, most of their time in SQLAlchemy's per-statement Python
work and, on PostgreSQL, in round trips. In write-behind mode the repositories hand new rows
(tickets, events, messages, outbox mail, re-plan requests) and row updates (ticket projections,
inbound states) to a ``WriteBehind`` instead, which sends them one executemany per table:

- before any other statement runs on the transaction's connection (a ``before_execute`` hook on
  that connection), so every read, whoever issues it, sees every earlier write;
- when the mode ends, before the commit.

New rows get their ids here before they are written, so callers see ids at once, as before:
PostgreSQL takes them from the table's sequence (tickets one at a time, so references have no
gaps; other tables in blocks); SQLite counts on from the table's largest id, which is safe
because a write transaction holds the database's only write lock from ``BEGIN IMMEDIATE``.

One item of a batch (one message) is a *scope*. A failing item's rows are dropped from the
buffer, which undoes the item exactly when nothing of it reached the database. When something
did (a statement ran inside the scope after the item had written, or the statement itself
wrote), the item cannot be undone alone and ``BatchAborted`` is raised instead: the caller then
redoes the batch one item per transaction. A failure while sending rows also raises
``BatchAborted``: the transaction is lost either way.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    Table,
    TableClause,
    TextClause,
    bindparam,
    case,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from adapters.storage.database import _first_line
from adapters.storage.repos.common import EVENT, INBOUND, MESSAGE, OUTBOX, REPLAN, TICKET
from bot.errors import BatchAborted

ORDER = (TICKET, EVENT, MESSAGE, OUTBOX, REPLAN)  # parents before children
ID_BLOCK = 128  # ids fetched per sequence round trip (PostgreSQL, not tickets)

_TICKET_UPDATE = update(TICKET).where(TICKET.c.id == bindparam("id_")).values(
    priority=bindparam("priority"), status=bindparam("status"),
    assignee=bindparam("assignee"), subject=bindparam("subject"), kind=bindparam("kind"),
    updated_at=case((TICKET.c.updated_at < bindparam("updated_at"), bindparam("updated_at")),
                    else_=TICKET.c.updated_at))
_INBOUND_FINISH = update(INBOUND).where(INBOUND.c.id == bindparam("id_")).values(
    state=bindparam("state"), reason=bindparam("reason"), ticket_id=bindparam("ticket_id"),
    processed_at=bindparam("processed_at"), attempts=INBOUND.c.attempts + 1)


@dataclass
class _Mark:
    """The buffer's size when a scope opened (what was there before is not the item's)."""

    inserts: dict[str, int]
    ticket_updates: dict[int, dict[str, Any]]
    inbound_updates: int


@dataclass
class Scope:
    mark: _Mark
    dirty: bool = False  # something of this item reached the database
    reason: str = ""
    undo: list[Callable[[], object]] = field(default_factory=list)  # of in-memory lookups


@dataclass
class WriteBehind:
    conn: Connection
    inserts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ticket_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    inbound_updates: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dialect = self.conn.dialect.name
        self._ids: dict[str, list[int]] = {}  # PostgreSQL: fetched, not yet given
        self._next: dict[str, int] = {}  # SQLite: the next id to give
        self._busy = False  # our own statements do not trigger a flush
        self._scope: Scope | None = None
        event.listen(self.conn, "before_execute", self._before_execute)

    def close(self) -> None:
        """Stop watching the connection (the buffer must have been flushed or dropped)."""
        event.remove(self.conn, "before_execute", self._before_execute)

    # -- what repositories call -----------------------------------------------------------

    def add(self, table: Table, row: dict[str, Any]) -> None:
        self.inserts.setdefault(table.name, []).append(row)

    def update_ticket(self, ticket_id: int, values: dict[str, Any]) -> None:
        prev = self.ticket_updates.get(ticket_id)
        if prev is not None and prev["updated_at"] > values["updated_at"]:
            values = {**values, "updated_at": prev["updated_at"]}
        self.ticket_updates[ticket_id] = {**values, "id_": ticket_id}

    def finish_inbound(self, values: dict[str, Any]) -> None:
        self.inbound_updates.append(values)

    def on_undo(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` if the current item is undone (it reverts an in-memory lookup that the
        item's writes had updated); outside an item, nothing can be undone."""
        if self._scope is not None:
            self._scope.undo.append(fn)

    def reserve(self, table: Table, n: int) -> None:
        """About ``n`` rows of ``table`` will follow: on PostgreSQL, take their ids in one
        round trip (ids left unused are skipped, as after a rollback)."""
        pool = self._ids.setdefault(table.name, [])
        if self.dialect == "postgresql" and n > len(pool):
            self._fetch(table, n - len(pool))

    def _fetch(self, table: Table, n: int) -> None:
        """Take ids from the sequences: ``n`` for ``table``; when that is not the ticket table,
        also a block for each other table of held rows running low, in the same statement."""
        wanted = {table.name: n}
        if table is not TICKET:
            for other in (EVENT, MESSAGE, OUTBOX):
                if len(self._ids.get(other.name, ())) < ID_BLOCK // 4:
                    wanted[other.name] = max(wanted.get(other.name, 0), ID_BLOCK)
        parts = [f"SELECT {k}, nextval(pg_get_serial_sequence('{name}', 'id')) "
                 f"FROM generate_series(1, {count})"
                 for k, (name, count) in enumerate(wanted.items())]
        names = list(wanted)
        got: dict[str, list[int]] = {}
        for k, value in self._own_rows(" UNION ALL ".join(parts)):
            got.setdefault(names[k], []).append(value)
        for name, ids in got.items():
            pool = self._ids.setdefault(name, [])
            pool[:0] = reversed(ids)

    def new_id(self, table: Table) -> int:
        """The id the next row of ``table`` will have."""
        name = table.name
        if self.dialect == "postgresql":
            pool = self._ids.setdefault(name, [])
            if not pool:  # tickets one at a time unless reserved: references without gaps
                self._fetch(table, 1 if table is TICKET else ID_BLOCK)
            return pool.pop()
        if name not in self._next:
            self._next[name] = self._own_rows(
                f"SELECT 0, coalesce(max(id), 0) + 1 FROM {name}")[0][1]
        self._next[name] += 1
        return self._next[name] - 1

    @contextmanager
    def bypass(self) -> Iterator[None]:
        """Statements in the block send nothing held: for a read whose caller accounts for
        the held rows itself (they are in its in-memory lookups)."""
        busy, self._busy = self._busy, True
        try:
            yield
        finally:
            self._busy = busy

    # -- scopes ----------------------------------------------------------------------------

    @contextmanager
    def scope(self) -> Iterator[Scope]:
        """One item: on an exception its rows are dropped, or ``BatchAborted`` when part of
        it reached the database already."""
        s = self._scope = Scope(self._mark())
        try:
            yield s
        except BaseException as e:
            if s.dirty:
                raise BatchAborted(f"could not undo one item alone ({s.reason}): {e}") from e
            for fn in reversed(s.undo):
                fn()
            self._undo(s.mark)
            raise
        finally:
            self._scope = None

    def _mark(self) -> _Mark:
        return _Mark({k: len(v) for k, v in self.inserts.items()}, dict(self.ticket_updates),
                     len(self.inbound_updates))

    def _undo(self, m: _Mark) -> None:
        for k, rows in self.inserts.items():
            del rows[m.inserts.get(k, 0):]
        self.ticket_updates = m.ticket_updates
        del self.inbound_updates[m.inbound_updates:]

    def _has_rows_after(self, m: _Mark) -> bool:
        return (any(len(v) > m.inserts.get(k, 0) for k, v in self.inserts.items())
                or len(self.inbound_updates) > m.inbound_updates
                or any(m.ticket_updates.get(k) is not v for k, v in self.ticket_updates.items()))

    # -- sending ---------------------------------------------------------------------------

    def pending(self) -> bool:
        return bool(any(self.inserts.values()) or self.ticket_updates or self.inbound_updates)

    def flush(self) -> None:
        """Send every held row, parents first; ``BatchAborted`` if the database refuses."""
        if not self.pending():
            return
        try:
            with self.bypass():
                self._send()
        except BatchAborted:
            raise
        except Exception as e:  # the database's refusal (SQLAlchemy's, or psycopg's by COPY)
            raise BatchAborted(f"storage refused the batch's writes: {_first_line(e)}") from e
        if self._scope is not None:
            self._scope.mark = self._mark()

    def _send(self) -> None:
        for table in ORDER:
            rows = self.inserts.get(table.name)
            if rows:
                self._insert(table, rows)
                rows.clear()
        if self.ticket_updates:
            self.conn.execute(_TICKET_UPDATE, list(self.ticket_updates.values()))
            self.ticket_updates = {}
        if self.inbound_updates:
            done = self.conn.execute(_INBOUND_FINISH, self.inbound_updates)
            if (self.conn.dialect.supports_sane_multi_rowcount
                    and done.rowcount != len(self.inbound_updates)):
                raise BatchAborted(f"{len(self.inbound_updates) - done.rowcount} inbound "
                                   "message(s) to finish were not found")
            self.inbound_updates = []

    def _insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if table is not OUTBOX:
            if self.dialect == "postgresql":
                self._copy(table, rows)
            else:
                self.conn.execute(insert(table), rows)
            return
        # a mail with the same Message-ID queued before: the caller was told it was queued and
        # recorded so; only the one-at-a-time path can tell it the truth
        if self.dialect == "postgresql":
            mids = [r["message_id"] for r in rows]
            taken = self.conn.execute(select(table.c.message_id).where(
                table.c.message_id.in_(mids))).first()
            if taken is not None:
                raise BatchAborted(f"outbound mail {taken[0]} was queued before")
            self._copy(table, rows)  # one queued meanwhile: COPY fails, the batch is redone
            return
        make = sqlite_insert
        q = make(table).on_conflict_do_nothing(index_elements=["message_id"]).returning(
            table.c.id)
        stored = set(self.conn.execute(q, rows).scalars())
        if len(stored) != len(rows):
            raise BatchAborted(f"{len(rows) - len(stored)} outbound mail(s) were queued before")

    def _copy(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """PostgreSQL: new rows by COPY, several times cheaper per row than executemany.
        Values go through each column type's own bind processing (JSON, instants), as an
        INSERT's would; the rows of one table all have the same keys."""
        names = list(rows[0])
        processors = _processors(table, self.conn.dialect)
        steps = [(n, processors.get(n)) for n in names]
        cols = ", ".join(f'"{n}"' for n in names)
        raw = self.conn.connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(  # type: ignore[attr-defined]
                f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([f(row[n]) if f is not None and row[n] is not None else row[n]
                                for n, f in steps])

    def _own_rows(self, sql: str) -> list[tuple[int, int]]:
        """Our own statement (table names and counts are ours, not input): no flush."""
        with self.bypass():
            return [(int(r[0]), int(r[1])) for r in self.conn.exec_driver_sql(sql)]

    def _before_execute(self, conn: Connection, clause: Any, *args: Any) -> None:
        if self._busy:
            return
        reads = _reads_only(clause)
        s = self._scope
        if s is not None and not s.dirty and not reads:
            s.dirty, s.reason = True, f"it wrote directly: {str(clause).split()[0]}"
        if not self.pending() or (reads and not self._reads_held(clause)):
            return  # e.g. a read of tables with nothing held (a report's, Slack's)
        if s is not None and not s.dirty and self._has_rows_after(s.mark):
            s.dirty, s.reason = True, "it read after writing"
        self.flush()

    def _reads_held(self, clause: Any) -> bool:
        """Whether a SELECT may read a table with rows held here (unknown: yes)."""
        if not isinstance(clause, Select):
            return True
        held = {name for name, rows in self.inserts.items() if rows}
        if self.ticket_updates:
            held.add(TICKET.name)
        if self.inbound_updates:
            held.add(INBOUND.name)
        return any(name in held for name in _table_names(clause))


_PROCESSORS: dict[tuple[str, str], dict[str, Callable[[Any], Any]]] = {}


def _processors(table: Table, dialect: Any) -> dict[str, Callable[[Any], Any]]:
    key = (table.name, dialect.name)
    if key not in _PROCESSORS:
        found = {c.name: c.type.dialect_impl(dialect).bind_processor(dialect)
                 for c in table.columns}
        _PROCESSORS[key] = {k: f for k, f in found.items() if f is not None}
    return _PROCESSORS[key]


def _table_names(clause: Any) -> Iterator[str]:
    """The names of the tables a statement refers to anywhere (FROM, joins, subqueries,
    WHERE), breadth first, by the public ``ClauseElement.get_children()``; an element met
    again (every column of a subquery leads back to it) is walked once."""
    todo = deque([clause])
    walked: set[int] = set()
    while todo:
        element = todo.popleft()
        if id(element) in walked:
            continue
        walked.add(id(element))
        if isinstance(element, TableClause):
            yield element.name
        else:
            todo.extend(element.get_children())


def _reads_only(clause: Any) -> bool:
    if isinstance(clause, Select):
        return True
    sql = clause if isinstance(clause, str) else str(clause) if isinstance(
        clause, TextClause) else ""
    return sql.lstrip()[:6].upper() == "SELECT"
