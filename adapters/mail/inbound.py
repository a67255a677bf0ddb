"""Durable acceptance of raw messages, shared by every mail intake.

An intake may say yes (SMTP 250, IMAP UID advanced, pipe exit 0) only once the raw bytes are
committed. Committing each message alone costs one fsync per message; the writer thread instead
takes whatever is waiting, commits it in one transaction (group commit) and then wakes every
waiting intake. Under load many messages share an fsync; alone, a message waits for nobody.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Table, insert, select, update
from sqlalchemy.exc import DBAPIError

from adapters.storage import Database
from adapters.storage.database import _first_line
from adapters.storage.tables import InboundRow, MailboxStateRow
from adapters.storage.writelock import WriteTurn
from bot.clock import Clock
from bot.errors import StorageError

log = logging.getLogger("supportbot.inbound")


@dataclass(frozen=True)
class Accepted:
    """What an intake hands over: the raw bytes and where they came from."""

    raw: bytes
    channel: str
    peer: str = ""
    mail_from: str = ""
    rcpt_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class MailboxPosition:
    """An IMAP folder position to advance in the same transaction as the message."""

    key: str
    uidvalidity: int
    last_uid: int


@dataclass
class _Job:
    item: Accepted
    position: MailboxPosition | None
    done: Future[int] = field(default_factory=Future)


class InboundStore:
    """Stores accepted messages durably; ``start()`` the writer before use, ``stop()`` after."""

    def __init__(self, db: Database, clock: Clock, *, max_batch: int = 256) -> None:
        self.db = db
        self.clock = clock
        self.max_batch = max_batch
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.batches = 0  # commits made, for metrics and the benchmark
        self.stored = 0
        self.on_stored: Callable[[int], None] | None = None  # told of each stored id

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="inbound-writer",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    # -- the intakes' side -----------------------------------------------------------------

    def submit(self, item: Accepted, position: MailboxPosition | None = None) -> Future[int]:
        """Queue ``item``; the future gives its inbound id once committed (or the error)."""
        if self._thread is None:
            raise StorageError("the inbound store is not started")
        job = _Job(item, position)
        self._queue.put(job)
        return job.done

    async def accept(self, item: Accepted) -> int:
        """Store ``item`` durably; returns its id. Raises StorageError if it could not be."""
        return await asyncio.wrap_future(self.submit(item))

    def accept_now(self, item: Accepted, position: MailboxPosition | None = None) -> int:
        """Store ``item`` in a transaction of its own, from a thread that may block."""
        return self._insert_now([_Job(item, position)])[0]

    def accept_all_now(self, items: Sequence[Accepted]) -> list[int]:
        """Store ``items`` (an mbox's messages) in one transaction: all of them or none."""
        return self._insert_now([_Job(item, None) for item in items])

    def _insert_now(self, jobs: list[_Job]) -> list[int]:
        try:
            with WriteTurn(self.db), self.db.write_engine.begin() as conn:
                return self._insert(conn, jobs)
        except DBAPIError as e:
            raise StorageError(f"could not store the message: {_first_line(e)}") from e

    def advance(self, position: MailboxPosition) -> None:
        """Advance an IMAP position past messages skipped as stored before (nothing to store)."""
        with WriteTurn(self.db), self.db.write_engine.begin() as conn:
            self._advance(conn, position, self.clock.now())

    # -- the writer ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            stop = False
            while len(jobs) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                jobs.append(nxt)
            self._commit(jobs)
            if stop:
                return

    def _commit(self, jobs: list[_Job]) -> None:
        try:
            with WriteTurn(self.db), self.db.write_engine.begin() as conn:
                ids = self._insert(conn, jobs)
        except Exception as e:  # every waiting intake must hear of it: they answer "try later"
            log.error("storing %d inbound message(s) failed: %s", len(jobs), e)
            err = StorageError(f"could not store the message: {e}")
            for job in jobs:
                job.done.set_exception(err)
            return
        self.batches += 1
        self.stored += len(jobs)
        for job, id_ in zip(jobs, ids, strict=True):
            job.done.set_result(id_)
            if self.on_stored is not None:
                self.on_stored(id_)

    def _insert(self, conn: Connection, jobs: list[_Job]) -> list[int]:
        """One multi-row INSERT ... RETURNING for the whole batch (SQLAlchemy Core: the ORM's
        unit of work cost more than the writes), plus any IMAP positions it advances."""
        now = self.clock.now()
        inbound: Table = InboundRow.__table__  # type: ignore[attr-defined]
        rows = [{"kind": "mail", "key": None, "received_at": now, "channel": j.item.channel,
                 "peer": j.item.peer, "mail_from": j.item.mail_from,
                 "rcpt_to": list(j.item.rcpt_to), "raw": j.item.raw, "size": len(j.item.raw),
                 "state": "pending", "reason": "", "attempts": 0} for j in jobs]
        ids = list(conn.execute(
            insert(inbound).returning(inbound.c.id, sort_by_parameter_order=True), rows
        ).scalars())
        for job in jobs:
            if job.position is not None:
                self._advance(conn, job.position, now)
        return ids

    @staticmethod
    def _advance(conn: Connection, p: MailboxPosition, now: datetime) -> None:
        state: Table = MailboxStateRow.__table__  # type: ignore[attr-defined]
        found = conn.execute(select(state.c.uidvalidity, state.c.last_uid)
                             .where(state.c.key == p.key)).first()
        if found is None:
            conn.execute(insert(state).values(key=p.key, uidvalidity=p.uidvalidity,
                                              last_uid=p.last_uid, updated_at=now))
            return
        last = max(p.last_uid, found.last_uid if found.uidvalidity == p.uidvalidity else 0)
        conn.execute(update(state).where(state.c.key == p.key).values(
            uidvalidity=p.uidvalidity, last_uid=last, updated_at=now))

