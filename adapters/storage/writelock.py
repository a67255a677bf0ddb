"""First come, first served for SQLite's write lock among the threads of one process.

SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps and
retries. A thread that commits and begins again at once (the intake worker going through a
backlog) nearly always wins the retry race, so the inbound writer, whose commit the SMTP
clients wait on, starves. Taking this lock before ``BEGIN IMMEDIATE`` queues the process's
writers in arrival order instead. Other processes (the MTA pipe) still meet the busy handler.
PostgreSQL needs none of this: its writers lock rows, not the database.
"""

from __future__ import annotations

import logging
import threading
from weakref import WeakKeyDictionary

from adapters.storage.database import Database

log = logging.getLogger("supportbot.storage")

WAIT_SECONDS = 30.0  # as SQLite's busy timeout: after that, go on and let SQLite decide


class FairLock:
    """A re-entrant ticket lock: threads get it in the order they asked for it."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._next_ticket = 0
        self._serving = 0
        self._owner: int | None = None
        self._depth = 0
        self._abandoned: set[int] = set()  # tickets whose threads stopped waiting

    def acquire(self, timeout: float = WAIT_SECONDS) -> bool:
        """Wait for our turn; False if it did not come within ``timeout`` (not taken then)."""
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            ticket = self._next_ticket
            self._next_ticket += 1
            if not self._cond.wait_for(lambda: self._serving == ticket, timeout):
                # give up our place: whoever holds it passes the turn on past us
                self._abandoned.add(ticket)
                return False
            self._owner, self._depth = me, 1
            return True

    @property
    def queued(self) -> int:
        """Threads waiting for their turn."""
        with self._cond:
            held = 1 if self._owner is not None else 0
            return self._next_ticket - self._serving - held - len(self._abandoned)

    def release(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a write lock this thread does not hold")
            self._depth -= 1
            if self._depth:
                return
            self._owner = None
            self._serving += 1
            while self._serving in self._abandoned:
                self._abandoned.discard(self._serving)
                self._serving += 1
            self._cond.notify_all()


class WriteTurn:
    """``with WriteTurn(db): ...`` around a write transaction; nothing on PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self.lock = write_lock(db)
        self.held = False

    def __enter__(self) -> WriteTurn:
        if self.lock is not None:
            self.held = self.lock.acquire()
            if not self.held:
                log.warning("waited %.0f s for the write lock; going ahead", WAIT_SECONDS)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.held and self.lock is not None:
            self.held = False
            self.lock.release()


_locks: WeakKeyDictionary[Database, FairLock] = WeakKeyDictionary()
_guard = threading.Lock()


def write_lock(db: Database) -> FairLock | None:
    """The process-wide write lock of ``db`` (SQLite), or None (PostgreSQL)."""
    if db.dialect != "sqlite":
        return None
    with _guard:
        lock = _locks.get(db)
        if lock is None:
            lock = _locks[db] = FairLock()
        return lock
