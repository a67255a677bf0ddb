"""Who claimed an outbox row, and whether that process is still alive.

Every process that delivers from the outbox is an owner with an id of its own
(``host:pid:random``), written into each row it claims. While the process lives it holds a lock
named by that id; the lock goes when the process dies, however it dies (SIGKILL included), so
another process can tell at once that the rows it had claimed are nobody's any more:

- PostgreSQL: a session advisory lock keyed by the schema and the id, held on a dedicated
  connection; the server drops it when that connection closes (a killed process's socket is
  closed by its kernel; a host that vanished is noticed by TCP keepalive). Another owner asks
  with ``pg_try_advisory_lock`` (and gives it back at once when it got it: the owner is gone).
- SQLite (one machine's database): an exclusive ``flock`` on ``DBFILE.owners/RANDOM.lock``,
  made under a temporary name and renamed once locked, so nobody sees it unlocked while its
  owner lives. A file found unlocked is an owner gone; it is deleted once its rows are
  settled. The file is
  also the owner's journal of receipts: the id of each row the other side accepted is
  appended (one ``write``, which survives a kill) the instant it said yes, before the commit
  of ``sent``; the finder marks those rows sent instead of sending them again.

One owner per process and database (``owner_for``), shared by the senders of every kind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import socket
import threading
import uuid
from pathlib import Path
from typing import IO
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from adapters.storage import Database

log = logging.getLogger("supportbot.outbox")

JOURNAL_BYTES = 64 * 1024
"""The SQLite owner's journal of accepted rows is emptied once it is larger than this."""


def new_owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Owner:
    """This process as the owner of its claims; ``alive(other)`` says whether another is."""

    def __init__(self, db: Database, owner_id: str | None = None) -> None:
        self.engine = db.engine  # not the Database: ``owner_for`` keys on it weakly
        self.dialect = db.dialect
        self.schema = db.schema
        self.folder = _folder(db)
        self.id = owner_id or new_owner_id()
        self._lock = threading.Lock()
        self._conn: Connection | None = None  # PostgreSQL
        self._fh: IO[bytes] | None = None  # SQLite
        self.held = False

    # -- holding our own lock ---------------------------------------------------------------

    def hold(self) -> None:
        """Take our lock (again, if it was lost); idempotent."""
        with self._lock:
            if self.held and self._conn is not None:  # PostgreSQL: is the lock still ours?
                try:
                    self._conn.execute(text("SELECT 1"))
                except DBAPIError:
                    log.warning("lost the outbox owner lock's connection; taking it again")
                    self._conn, self.held = None, False
            if self.held:
                return
            if self.dialect == "postgresql":
                self._conn = self.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT")
                self.held = bool(self._conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key(self.id)}).scalar())
                return
            folder = self.folder
            if folder is None:  # in memory: nobody else can see the rows
                self.held = True
                return
            folder.mkdir(parents=True, exist_ok=True)
            temp = folder / f".{_name(self.id)}.new"
            fh = temp.open("ab")
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            temp.rename(folder / f"{_name(self.id)}.lock")
            self._fh, self.held = fh, True

    def release(self) -> None:
        """Give the lock back (a clean stop): our claims count as gone from now on."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):  # given back now, not when the server
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"),  # sees the close
                                       {"k": self._key(self.id)})
                    self._conn.invalidate()  # never back to the pool with the lock
                    self._conn.close()
                self._conn = None
            if self._fh is not None:
                folder = self.folder
                if folder is not None:
                    with contextlib.suppress(OSError):
                        (folder / f"{_name(self.id)}.lock").unlink()
                self._fh.close()
                self._fh = None
            self.held = False

    # -- asking about another ---------------------------------------------------------------

    def alive(self, other: str) -> bool:
        """Whether the process that claimed as ``other`` still holds its lock."""
        return self.gone(other) is None

    def gone(self, other: str) -> frozenset[int] | None:
        """None while the process that claimed as ``other`` holds its lock (or when that
        cannot be asked now: nothing is sent twice on a guess); once it is gone, the rows it
        had noted as accepted but perhaps not recorded (SQLite: read from its file, which is
        then deleted; PostgreSQL: none, its receipt is a prepared transaction)."""
        if other == self.id:
            return None
        if self.dialect == "postgresql":
            return None if self._pg_alive(other) else frozenset()
        folder = self.folder
        if folder is None:
            return frozenset()
        path = folder / f"{_name(other)}.lock"
        try:
            fh = path.open("rb")
        except FileNotFoundError:
            return frozenset()
        with fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            return frozenset(int(w) for w in fh.read().split() if w.isdigit())

    def forget_gone(self, keep: set[str]) -> None:
        """Delete the files of owners gone whose rows are all settled (all but ``keep``)."""
        if self.folder is None or not self.folder.is_dir():
            return
        kept = {_name(k) for k in keep} | {_name(self.id)}
        for path in self.folder.glob("*.lock"):
            if path.stem in kept:
                continue
            with contextlib.suppress(OSError), path.open("rb") as fh:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # alive
                path.unlink()

    # -- the receipt journal (SQLite) ------------------------------------------------------

    def note(self, row_id: int) -> None:
        """Note that the other side accepted ``row_id``: one ``write`` to our lock file, which
        a process kill cannot undo, made before the commit of ``sent`` (SQLite only)."""
        if self._fh is not None:
            os.write(self._fh.fileno(), b"%d\n" % row_id)

    def forget(self) -> None:
        """What was noted is committed now: empty the journal once it has grown."""
        if self._fh is not None and os.fstat(self._fh.fileno()).st_size > JOURNAL_BYTES:
            os.ftruncate(self._fh.fileno(), 0)

    def _pg_alive(self, other: str) -> bool:
        self.hold()
        with self._lock:
            if self._conn is None:
                return True
            key = self._key(other)
            try:
                got = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                              {"k": key}).scalar())
                if got:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            except DBAPIError:
                log.warning("cannot ask whether outbox owner %s lives", other)
                self.held = False
                self._conn = None
                return True
            return not got

    def _key(self, owner_id: str) -> int:
        name = f"supportbot-outbox-owner:{self.schema or 'public'}:{owner_id}".encode()
        return int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)


def _name(owner_id: str) -> str:
    """The file name part of an owner id: its random part."""
    return owner_id.rsplit(":", 1)[-1]


def _folder(db: Database) -> Path | None:
    database = db.url.database
    if not database or database == ":memory:":
        return None
    return Path(os.path.abspath(database + ".owners"))


_owners: WeakKeyDictionary[Database, Owner] = WeakKeyDictionary()
_guard = threading.Lock()


def owner_for(db: Database) -> Owner:
    """The process's owner for ``db`` (made on first use; its lock taken by ``hold``)."""
    with _guard:
        owner = _owners.get(db)
        if owner is None:
            owner = _owners[db] = Owner(db)
            db.on_dispose.append(owner.release)
        return owner
