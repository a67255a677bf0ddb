"""The unit of work over a SQLModel session: one transaction, its repositories, write-behind."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType

from sqlalchemy.exc import DBAPIError

from adapters.storage.database import Database, _first_line
from adapters.storage.repos.common import core, hand_back
from adapters.storage.repos.directory import SqlClientRepository, SqlStaffRepository
from adapters.storage.repos.inbound import SqlInboundRepository
from adapters.storage.repos.inbound_wb import WriteBehindInboundRepository
from adapters.storage.repos.lookups import Lookups
from adapters.storage.repos.maintenance import SqlMaintenanceRepository, SqlPolicyVersionRepository
from adapters.storage.repos.messages import SqlMessageRepository
from adapters.storage.repos.messages_wb import WriteBehindMessageRepository
from adapters.storage.repos.outbox import SqlOutboxRepository
from adapters.storage.repos.outbox_wb import WriteBehindOutboxRepository
from adapters.storage.repos.phone import SqlPhoneRepository
from adapters.storage.repos.replans import SqlReminderRepository
from adapters.storage.repos.replans_wb import WriteBehindReminderRepository
from adapters.storage.repos.reports import SqlReportRepository
from adapters.storage.repos.tickets import SqlTicketRepository
from adapters.storage.repos.tickets_wb import WriteBehindTicketRepository
from adapters.storage.slack import SqlSlackRepository
from adapters.storage.writebehind import WriteBehind
from adapters.storage.writelock import WriteTurn
from bot.errors import StorageError


class SqlUnitOfWork:
    """``with SqlUnitOfWork(db, write=True) as uow: ...; uow.commit()``; rolls back otherwise."""

    tickets: SqlTicketRepository
    messages: SqlMessageRepository
    inbound: SqlInboundRepository
    outbox: SqlOutboxRepository
    reminders: SqlReminderRepository

    def __init__(self, db: Database, *, write: bool = True) -> None:
        self.db = db
        self.write = write
        self._wb: WriteBehind | None = None

    def __enter__(self) -> SqlUnitOfWork:
        self._turn = WriteTurn(self.db) if self.write else None  # SQLite: writers queue fairly
        if self._turn is not None:
            self._turn.__enter__()
        self.session = self.db.session(write=self.write)
        self.tickets = SqlTicketRepository(self.session)
        self.clients = SqlClientRepository(self.session)
        self.staff = SqlStaffRepository(self.session)
        self.messages = SqlMessageRepository(self.session)
        self.inbound = SqlInboundRepository(self.session)
        self.outbox = SqlOutboxRepository(self.session)
        self.slack = SqlSlackRepository(self.session)
        self.phone = SqlPhoneRepository(self.session, self.tickets)
        self.reports = SqlReportRepository(self.session, self.tickets)
        self.maintenance = SqlMaintenanceRepository(self.session)
        self.policy_versions = SqlPolicyVersionRepository(self.session)
        self.reminders = SqlReminderRepository(self.session)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()
            if self._turn is not None:
                self._turn.__exit__()
        if isinstance(exc, DBAPIError):
            raise StorageError(f"storage failed: {_first_line(exc)}") from exc

    @contextmanager
    def write_behind(self) -> Iterator[None]:
        """Hold this transaction's writes of tickets, events, messages, outbox mail, re-plan
        requests and inbound states, and send them one statement per table (see
        ``adapters/storage/writebehind.py``); reads still see every write. Meant for a batch
        of items, each in a ``savepoint``. Everything held is sent when the block ends.

        The repositories that hold writes are swapped for their write-behind variants for
        the block (each takes over the plain one's memory of the transaction) and swapped
        back after (each plain one continuing from what its variant knew)."""
        wb = WriteBehind(core(self.session))
        seen = Lookups(wb)
        plain = (self.tickets, self.messages, self.inbound, self.outbox, self.reminders)
        self._wb = wb
        self.tickets = WriteBehindTicketRepository(self.tickets, wb)
        self.messages = WriteBehindMessageRepository(self.messages, seen)
        self.inbound = WriteBehindInboundRepository(self.inbound, wb)
        self.outbox = WriteBehindOutboxRepository(self.outbox, seen)
        self.reminders = WriteBehindReminderRepository(self.reminders, wb)
        try:
            yield
            wb.flush()
        finally:
            wb.close()
            self._wb = None
            self.tickets.forget()
            held = (self.tickets, self.messages, self.inbound, self.outbox, self.reminders)
            for repo, variant in zip(plain, held, strict=True):
                hand_back(variant, repo)
            self.tickets, self.messages, self.inbound, self.outbox, self.reminders = plain

    def savepoint(self) -> AbstractContextManager[object]:
        """A nested transaction: flushed and released on success, rolled back on an error.
        In write-behind mode, a scope of the buffer instead (``BatchAborted`` when the item
        cannot be undone alone)."""
        if self._wb is None:
            return self.session.begin_nested()
        return self._scope(self._wb)

    @contextmanager
    def _scope(self, wb: WriteBehind) -> Iterator[object]:
        try:
            with wb.scope() as s:
                yield s
        except BaseException:
            self.tickets.forget()
            raise

    def commit(self) -> None:
        try:
            if self._wb is not None:
                self._wb.flush()
            self.session.commit()
        except DBAPIError as e:
            raise StorageError(f"storage failed: {_first_line(e)}") from e

    def rollback(self) -> None:
        self.session.rollback()


class UnitOfWorks:
    """The one place a ``SqlUnitOfWork`` is made (the composition root builds one and hands it
    out): ``uow()`` for a write transaction, ``uow(write=False)`` or ``uow.reader()`` to read.
    ``db`` is there for the stores that use plain connections on the same database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __call__(self, write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.db, write=write)

    def reader(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.db, write=False)
