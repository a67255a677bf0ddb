"""Which instance runs the reminder scheduler: exactly one per database.

PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) held on a dedicated connection,
keyed by the schema, tried again on every poll. When the holder dies its connection closes and
the lock goes with it, so a standby takes over within one poll interval (a holder whose host
vanishes without closing the socket is noticed by TCP keepalive). A holder checks its connection
on every poll and stops scheduling the moment it is lost.

SQLite: an exclusive ``flock`` on ``DBFILE.scheduler.lock`` beside the database file; the kernel
releases it when the holder dies. SQLite is one machine's database, so that is enough.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from adapters.storage import Database


class Leadership(Protocol):
    def acquire(self) -> bool:
        """Try once, without waiting; True if this instance holds the lock now."""
        ...

    def check(self) -> bool:
        """Whether the lock is still held."""
        ...

    def release(self) -> None: ...


def lock_key(db: Database) -> int:
    """A signed 64-bit advisory lock key for this database's schema."""
    name = f"supportbot-reminders:{db.schema or 'public'}".encode()
    return int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)


class PgLeadership:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.key = lock_key(db)
        self.conn: Connection | None = None
        self.held = False

    def acquire(self) -> bool:
        try:
            if self.conn is None:
                self.conn = self.db.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT")
            self.held = bool(self.conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                               {"k": self.key}).scalar())
        except DBAPIError:
            self._drop()
        return self.held

    def check(self) -> bool:
        if self.conn is None or not self.held:
            return False
        try:
            self.conn.execute(text("SELECT 1"))
        except DBAPIError:
            self._drop()
        return self.held

    def _drop(self) -> None:
        self.held = False
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.invalidate()  # close the socket: never back to the pool with a lock
                self.conn.close()
        self.conn = None

    def release(self) -> None:
        self._drop()


class FileLeadership:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.fh: IO[bytes] | None = None

    def acquire(self) -> bool:
        if self.path is None:  # an in-memory database: only this process can see it
            return True
        if self.fh is None:
            self.fh = self.path.open("ab")
        try:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def check(self) -> bool:
        return self.path is None or self.fh is not None

    def release(self) -> None:
        if self.fh is not None:
            self.fh.close()  # closing the file drops the lock
            self.fh = None


def leadership_for(db: Database) -> Leadership:
    if db.dialect == "postgresql":
        return PgLeadership(db)
    database = db.url.database
    if not database or database == ":memory:":
        return FileLeadership(None)
    return FileLeadership(Path(os.path.abspath(database + ".scheduler.lock")))
