"""Repositories and the unit of work over SQLModel sessions; rows in, domain objects out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import Connection, Table, case, func, insert, literal, union_all, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from adapters.storage.database import Database, _first_line, as_utc
from adapters.storage.inbox import Attempts, InboxStore
from adapters.storage.maintenance import SqlMaintenanceRepository, SqlPolicyVersionRepository
from adapters.storage.phone import SqlPhoneRepository
from adapters.storage.reminders import SqlReminderRepository
from adapters.storage.reports import SqlReportRepository
from adapters.storage.slack import SqlSlackRepository
from adapters.storage.tables import (
    ClientRow,
    EventRow,
    InboundRow,
    MessageRow,
    OutboxRow,
    StaffRow,
    TicketRow,
)
from adapters.storage.writebehind import EVENT, INBOUND, MESSAGE, OUTBOX, TICKET, WriteBehind
from adapters.storage.writelock import WriteTurn
from bot.errors import StorageError
from bot.model import (
    Channel,
    Client,
    Event,
    EventKind,
    InboundItem,
    Message,
    OutboundMail,
    Staff,
    Ticket,
    TicketStatus,
)
from bot.priority import Priority

_TICKET, _EVENT, _INBOUND, _OUTBOX, _MESSAGE = TICKET, EVENT, INBOUND, OUTBOX, MESSAGE
_CLIENT: Table = ClientRow.__table__  # type: ignore[attr-defined]


def _core(s: Session) -> Connection:
    """The session's connection, for Core statements: cheaper than the ORM's execute path and
    inside the same transaction."""
    return s.connection()


@dataclass
class Lookups:
    """What a batch read up front (``preload`` hints), kept current with what the unit of work
    wrote since; consulted only in write-behind mode, where the rows written are not yet in
    the database for a query to find."""

    wb: WriteBehind
    messages: dict[tuple[str, str], Message] = field(default_factory=dict)
    message_ids: set[str] = field(default_factory=set)  # every stored copy of these is known
    thread: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)
    """Message-ID -> (0 received / 1 sent, row id, ticket id) of every row carrying it."""
    recipients: dict[str, list[tuple[str, datetime]]] = field(default_factory=dict)
    """recipient key -> (purpose, created_at) of the outbox mail queued since ``since``."""
    since: datetime | None = None

    def undoable(self, fn: Callable[[], object]) -> None:
        self.wb.on_undo(fn)

    def sent(self, message_id: str, src: int, row_id: int, ticket_id: int | None) -> None:
        if ticket_id is not None and message_id in self.thread:
            entry = (src, row_id, ticket_id)
            self.thread[message_id].append(entry)
            self.undoable(lambda: self.thread[message_id].remove(entry))


def _event(row: EventRow) -> Event:
    return Event(kind=EventKind(row.kind), at=as_utc(row.at), actor=row.actor, data=dict(row.data),
                 ticket_id=row.ticket_id, id=row.id)


def _client(row: ClientRow) -> Client:
    return Client(
        name=row.name, policy=row.policy, email_domains=tuple(row.email_domains),
        emails=tuple(row.emails), phones=tuple(row.phones),
        slack_channels=tuple(row.slack_channels), invoice_amount=row.invoice_amount,
        currency=row.currency,
        default_priority=Priority(row.default_priority) if row.default_priority else None,
        id=row.id, triage_channel=row.triage_channel,
    )


class SqlTicketRepository:
    def __init__(self, session: Session) -> None:
        self.s = session
        # each ticket's stored projection as this transaction wrote or read it: an append that
        # changes none of it (a MAIL_SENT right after registration) needs no UPDATE
        self._saved: dict[int, tuple[object, ...]] = {}
        self.wb: WriteBehind | None = None  # set while the unit of work holds writes back
        # write-behind mode: the tickets this transaction holds (written or read, locked when
        # in ``_locked``); ``get`` hands out these objects, so later items see earlier changes
        self._held: dict[int, Ticket] = {}
        self._locked: set[int] = set()

    def forget(self) -> None:
        """Drop what this transaction holds in memory (an item failed halfway: the database
        and the write-behind buffer are the truth again)."""
        self._held.clear()
        self._locked.clear()
        self._saved.clear()

    @staticmethod
    def _projection(t: Ticket, updated_at: datetime) -> tuple[object, ...]:
        return (t.priority.value, t.status.value, t.assignee, t.subject, t.kind, updated_at)

    def _ticket(self, row: TicketRow, client_name: str, events: list[Event]) -> Ticket:
        return Ticket(
            client_id=row.client_id, client_name=client_name, policy=row.policy,
            subject=row.subject, priority=Priority(row.priority), channel=Channel(row.channel),
            status=TicketStatus(row.status), created_at=as_utc(row.created_at),
            requester=row.requester, body=row.body, kind=row.kind, assignee=row.assignee,
            id=row.id, events=events,
        )

    def add(self, ticket: Ticket) -> Ticket:
        last = max([ticket.created_at, *(e.at for e in ticket.events)])
        values = dict(
            client_id=ticket.client_id, policy=ticket.policy, kind=ticket.kind,
            subject=ticket.subject, body=ticket.body, priority=ticket.priority.value,
            channel=ticket.channel.value, status=ticket.status.value,
            requester=ticket.requester, assignee=ticket.assignee,
            created_at=ticket.created_at, updated_at=last)
        if self.wb is not None:
            ticket.id = self.wb.new_id(_TICKET)
            self.wb.add(_TICKET, {"id": ticket.id, **values})
            self._held[ticket.id] = ticket
            self._locked.add(ticket.id)
        else:
            ticket.id = _core(self.s).execute(
                insert(_TICKET).values(**values).returning(_TICKET.c.id)).scalar_one()
        pending, ticket.events = ticket.events, []
        self._insert_events(ticket, pending)
        self._saved[ticket.id] = self._projection(ticket, last)
        return ticket

    def get(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        held = self._held.get(ticket_id)
        if held is not None and (ticket_id in self._locked or not for_update):
            return held
        q = select(TicketRow, ClientRow.name).outerjoin(
            ClientRow, col(ClientRow.id) == col(TicketRow.client_id)
        ).where(TicketRow.id == ticket_id).execution_options(populate_existing=True)
        if for_update:
            q = q.with_for_update(of=TicketRow)  # type: ignore[arg-type]
        found = self.s.exec(q).first()
        if found is None:
            return None
        row, client_name = found
        t = self._ticket(row, client_name or "", self._events([ticket_id])[ticket_id])
        self._saved[ticket_id] = self._projection(t, as_utc(row.updated_at))
        self._hold(t, for_update)
        return t

    def _hold(self, t: Ticket, locked: bool) -> None:
        if self.wb is not None and t.id is not None:
            self._held[t.id] = t
            if locked:
                self._locked.add(t.id)

    def reserve(self, n: int) -> None:
        """A hint in write-behind mode: about ``n`` tickets will be added; their ids are taken
        together (any left unused are skipped, as after a rollback)."""
        if self.wb is not None and n > 0:
            self.wb.reserve(_TICKET, n)

    def preload(self, ticket_ids: Collection[int], *, for_update: bool = False) -> None:
        """A hint in write-behind mode: read these tickets (and lock them) in two statements;
        ``get`` then answers from memory. Outside that mode it does nothing."""
        ids = sorted({i for i in ticket_ids if i not in self._held})
        if self.wb is None or not ids:
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
                t = self._ticket(row, row.client_name or "",  # type: ignore[arg-type]
                                 events.get(row.id, []))
                assert t.id is not None
                self._saved[t.id] = self._projection(t, as_utc(row.updated_at))
                self._hold(t, for_update)

    def _events(self, ids: Sequence[int]) -> dict[int, list[Event]]:
        out: dict[int, list[Event]] = defaultdict(list)
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start:chunk_start + 500]
            e = _EVENT.c
            q = sa_select(_EVENT).where(e.ticket_id.in_(chunk)).order_by(e.at, e.id)
            for r in _core(self.s).execute(q):  # Core: a ticket's log can be long
                out[r.ticket_id].append(_event(r))  # type: ignore[arg-type]
        return out

    def append(self, ticket: Ticket, *events: Event) -> None:
        assert ticket.id is not None, "add the ticket before appending to it"
        last = self._insert_events(ticket, events)
        saved = self._saved.get(ticket.id)
        if saved is not None:
            if self._projection(ticket, max(last, saved[-1])) == saved:  # type: ignore[type-var]
                return
            self._saved[ticket.id] = self._projection(ticket, max(last, saved[-1]))  # type: ignore[type-var]
        values = dict(priority=ticket.priority.value, status=ticket.status.value,
                      assignee=ticket.assignee, subject=ticket.subject, kind=ticket.kind)
        if self.wb is not None:
            self.wb.update_ticket(ticket.id, {**values, "updated_at": last.astimezone(UTC)})
            return
        updated = literal(last, _TICKET.c.updated_at.type)
        _core(self.s).execute(update(_TICKET).where(_TICKET.c.id == ticket.id).values(
            **values, updated_at=case((_TICKET.c.updated_at < updated, updated),
                                      else_=_TICKET.c.updated_at)))

    def _insert_events(self, ticket: Ticket, events: Sequence[Event]) -> datetime:
        """One INSERT ... RETURNING for all the events (write-behind: ids taken, rows held);
        they join ``ticket.events`` with their ids. Returns the latest instant among them
        (the ticket's creation if none)."""
        last = ticket.created_at
        rows = []
        for e in events:
            if e.at.tzinfo is None:
                raise ValueError("event instants must be aware")
            rows.append({"ticket_id": ticket.id, "kind": e.kind.value,
                         "at": e.at.astimezone(UTC), "actor": e.actor, "data": dict(e.data)})
            last = max(last, e.at)
        if not rows:
            return last
        if self.wb is not None:
            ids = []
            for row in rows:
                row["id"] = self.wb.new_id(_EVENT)
                self.wb.add(_EVENT, row)
                ids.append(row["id"])
        else:
            conn = _core(self.s)
            if conn.dialect.name == "sqlite":
                # one multi-row statement; SQLite numbers the rows in insertion order but may
                # return them in any order (asking SQLAlchemy to keep order costs a statement
                # each)
                ids = sorted(conn.execute(insert(_EVENT).returning(_EVENT.c.id), rows).scalars())
            else:
                ids = list(conn.execute(insert(_EVENT).returning(
                    _EVENT.c.id, sort_by_parameter_order=True), rows).scalars())
        for e, id_ in zip(events, ids, strict=True):
            ticket.events.append(Event(e.kind, e.at, e.actor, dict(e.data), ticket.id, id_))
        return last

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
        rows = list(self.s.exec(q))
        events = self._events([r.id for r, _ in rows if r.id is not None])
        return [self._ticket(r, n or "", events.get(r.id or 0, [])) for r, n in rows]


class SqlClientRepository:
    def __init__(self, session: Session) -> None:
        self.s = session
        self._directory: list[Client] | None = None  # for_address's read, per unit of work

    def upsert(self, client: Client) -> Client:
        self._directory = None
        row = self.s.exec(select(ClientRow).where(ClientRow.name == client.name)).first()
        row = row or ClientRow(name=client.name, policy=client.policy)
        row.policy = client.policy
        row.email_domains = list(client.email_domains)
        row.emails = list(client.emails)
        row.phones = list(client.phones)
        row.slack_channels = list(client.slack_channels)
        row.triage_channel = client.triage_channel
        row.invoice_amount = client.invoice_amount
        row.currency = client.currency
        row.default_priority = client.default_priority.value if client.default_priority else None
        self.s.add(row)
        self.s.flush()
        return _client(row)

    def get(self, name: str) -> Client | None:
        row = self.s.exec(select(ClientRow).where(ClientRow.name == name)).first()
        return _client(row) if row else None

    def get_by_id(self, client_id: int) -> Client | None:
        row = self.s.get(ClientRow, client_id)
        return _client(row) if row else None

    def list(self) -> list[Client]:
        return [_client(r) for r in self.s.exec(select(ClientRow).order_by(col(ClientRow.name)))]

    def for_address(self, address: str) -> Client | None:
        addr = address.strip().lower()
        domain = addr.rpartition("@")[2]
        if self._directory is None:  # read once per unit of work: a batch asks many times
            self._directory = self.list()
        by_domain = None
        for c in self._directory:  # clients are few; their address lists live in JSON columns
            if addr in (e.lower() for e in c.emails):
                return c
            if by_domain is None and domain in (d.lower() for d in c.email_domains):
                by_domain = c
        return by_domain


class SqlStaffRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def upsert(self, staff: Staff) -> Staff:
        row = self.s.exec(select(StaffRow).where(StaffRow.name == staff.name)).first()
        row = row or StaffRow(name=staff.name)
        row.email, row.slack_user, row.phone = staff.email, staff.slack_user, staff.phone
        self.s.add(row)
        self.s.flush()
        return Staff(row.name, row.email, row.slack_user, row.phone, row.id)

    def list(self) -> list[Staff]:
        return [Staff(r.name, r.email, r.slack_user, r.phone, r.id)
                for r in self.s.exec(select(StaffRow).order_by(col(StaffRow.name)))]


def _message(row: MessageRow) -> Message:
    return Message(direction=row.direction, channel=Channel(row.channel),
                   message_id=row.message_id, raw=row.raw, at=as_utc(row.at), sender=row.sender,
                   subject=row.subject, text=row.text, ticket_id=row.ticket_id, id=row.id)


class SqlMessageRepository:
    def __init__(self, session: Session) -> None:
        self.s = session
        self._absent: set[tuple[str, str]] = set()  # found absent by find() in this transaction
        self.seen: Lookups | None = None  # write-behind mode: what was preloaded and written

    def add(self, message: Message) -> tuple[Message, bool]:
        digest = message.content_hash
        identity = (message.message_id, digest)
        seen = self.seen
        if seen is not None:
            found_msg = self.find(message.message_id, digest)
            if found_msg is not None:
                return found_msg, False
            at = message.at.astimezone(UTC)
            stored = replace(message, at=at, id=seen.wb.new_id(_MESSAGE))
            seen.wb.add(_MESSAGE, {
                "id": stored.id, "ticket_id": message.ticket_id,
                "direction": message.direction, "channel": message.channel.value,
                "message_id": message.message_id, "content_hash": digest,
                "sender": message.sender, "subject": message.subject, "text": message.text,
                "raw": message.raw, "at": at})
            seen.messages[identity] = stored
            seen.undoable(lambda: seen.messages.pop(identity, None))
            if message.message_id not in seen.message_ids:
                seen.message_ids.add(message.message_id)  # its only copy is this one
                seen.undoable(lambda: seen.message_ids.discard(message.message_id))
            assert stored.id is not None
            seen.sent(message.message_id, 0, stored.id, message.ticket_id)
            return stored, True
        if identity not in self._absent:
            q = select(MessageRow).where(MessageRow.message_id == message.message_id,
                                         MessageRow.content_hash == digest)
            found = self.s.exec(q).first()
            if found is not None:
                return _message(found), False
        self._absent.discard(identity)
        at = message.at.astimezone(UTC)
        id_ = _core(self.s).execute(insert(_MESSAGE).values(
            ticket_id=message.ticket_id, direction=message.direction,
            channel=message.channel.value, message_id=message.message_id, content_hash=digest,
            sender=message.sender, subject=message.subject, text=message.text,
            raw=message.raw, at=at).returning(_MESSAGE.c.id)).scalar_one()
        return replace(message, at=at, id=id_), True

    def preload(self, identities: Sequence[tuple[str, str]], thread_keys: Collection[str]
                ) -> None:
        """A hint in write-behind mode: read in two statements what ``find`` will be asked of
        these (Message-ID, content hash) pairs and ``ticket_of`` of these Message-IDs; later
        answers come from memory, kept current with what this unit of work writes. Outside
        that mode it does nothing."""
        seen = self.seen
        if seen is None:
            return
        mids = sorted({m for m, _ in identities} - seen.message_ids)
        m, o = _MESSAGE.c, _OUTBOX.c
        for start in range(0, len(mids), 500):
            chunk = mids[start:start + 500]
            for row in _core(self.s).execute(sa_select(_MESSAGE).where(m.message_id.in_(chunk))):
                seen.messages[(row.message_id, row.content_hash)] = _message(row)  # type: ignore[arg-type]
            seen.message_ids.update(chunk)
        keys = sorted({k for k in thread_keys if k} - seen.thread.keys())
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            for k in chunk:
                seen.thread[k] = []
            both = union_all(
                sa_select(m.message_id, literal(0).label("src"), m.id, m.ticket_id).where(
                    m.message_id.in_(chunk), m.ticket_id.is_not(None)),
                sa_select(o.message_id, literal(1).label("src"), o.id, o.ticket_id).where(
                    o.message_id.in_(chunk), o.ticket_id.is_not(None)))
            for mid, src, row_id, tid in _core(self.s).execute(both):
                seen.thread[mid].append((src, row_id, tid))

    def for_ticket(self, ticket_id: int) -> list[Message]:
        q = select(MessageRow).where(MessageRow.ticket_id == ticket_id).order_by(
            col(MessageRow.at), col(MessageRow.id))
        return [_message(r) for r in self.s.exec(q)]

    def find(self, message_id: str, content_hash: str) -> Message | None:
        if self.seen is not None:
            if message_id in self.seen.message_ids:
                return self.seen.messages.get((message_id, content_hash))
            held = self.seen.messages.get((message_id, content_hash))
            if held is not None:
                return held
        m = _MESSAGE.c
        q = sa_select(_MESSAGE).where(m.message_id == message_id, m.content_hash == content_hash)
        if self.seen is not None:
            with self.seen.wb.bypass():  # what is held is in ``seen.messages``: not there
                row = _core(self.s).execute(q).first()
            return _message(row) if row else None  # type: ignore[arg-type]
        row = _core(self.s).execute(q).first()
        if row is None:
            self._absent.add((message_id, content_hash))
        return _message(row) if row else None

    def ticket_of(self, message_ids: Sequence[str]) -> int | None:
        ids = [m for m in message_ids if m][:100]
        if not ids:
            return None
        if self.seen is not None and all(i in self.seen.thread for i in ids):
            # the latest stored message's ticket, else the latest sent mail's
            hits = [hit for i in ids for hit in self.seen.thread[i]]
            return max(hits, key=lambda h: (-h[0], h[1]))[2] if hits else None
        # one statement: the latest stored message's ticket, else the latest sent mail's
        m, o = _MESSAGE.c, _OUTBOX.c
        both = union_all(
            sa_select(m.ticket_id, literal(0).label("src"), m.id.label("row")).where(
                m.message_id.in_(ids), m.ticket_id.is_not(None)),
            sa_select(o.ticket_id, literal(1).label("src"), o.id.label("row")).where(
                o.message_id.in_(ids), o.ticket_id.is_not(None)),
        ).subquery()
        q = sa_select(both.c.ticket_id).order_by(both.c.src, both.c.row.desc()).limit(1)
        return _core(self.s).execute(q).scalar()


def _inbound(row: InboundRow) -> InboundItem:
    return InboundItem(id=row.id or 0, channel=row.channel, raw=row.raw,
                       received_at=as_utc(row.received_at), mail_from=row.mail_from,
                       peer=row.peer, attempts=row.attempts, state=row.state,
                       reason=row.reason, ticket_id=row.ticket_id)


class SqlInboundRepository:
    def __init__(self, session: Session) -> None:
        self.s = session
        self.wb: WriteBehind | None = None  # set while the unit of work holds writes back

    def pending(self, limit: int = 100) -> list[InboundItem]:
        q = select(InboundRow).where(InboundRow.state == "pending", InboundRow.kind == "mail"
                                     ).order_by(col(InboundRow.id)).limit(limit)
        return [_inbound(r) for r in self.s.exec(q)]

    def get(self, inbound_id: int, *, for_update: bool = False) -> InboundItem | None:
        q = sa_select(_INBOUND).where(_INBOUND.c.id == inbound_id)
        if for_update:
            q = q.with_for_update()
        row = _core(self.s).execute(q).first()
        return _inbound(row) if row else None  # type: ignore[arg-type]

    def get_many(self, inbound_ids: Sequence[int], *, for_update: bool = False,
                 raw: bool = True) -> dict[int, InboundItem]:
        out: dict[int, InboundItem] = {}
        ids = list(dict.fromkeys(inbound_ids))
        i = _INBOUND.c
        columns = list(_INBOUND.c) if raw else [c for c in _INBOUND.c if c is not i.raw]
        for start in range(0, len(ids), 500):
            q = sa_select(*columns).where(i.id.in_(ids[start:start + 500]))
            if for_update:
                q = q.with_for_update()
            for row in _core(self.s).execute(q.order_by(i.id)):
                out[row.id] = _inbound(row) if raw else InboundItem(  # type: ignore[arg-type]
                    id=row.id, channel=row.channel, raw=b"",
                    received_at=as_utc(row.received_at), mail_from=row.mail_from,
                    peer=row.peer, attempts=row.attempts, state=row.state,
                    reason=row.reason, ticket_id=row.ticket_id)
        return out

    def list(self, state: str | None = None, limit: int = 100) -> list[InboundItem]:
        q = select(InboundRow).where(InboundRow.kind == "mail")
        if state:
            q = q.where(InboundRow.state == state)
        return [_inbound(r) for r in self.s.exec(q.order_by(col(InboundRow.id).desc())
                                                  .limit(limit))]

    def finish(self, inbound_id: int, state: str, *, at: datetime, reason: str = "",
               ticket_id: int | None = None) -> None:
        if self.wb is not None:
            self.wb.finish_inbound({"id_": inbound_id, "state": state, "reason": reason[:2000],
                                    "ticket_id": ticket_id, "processed_at": at.astimezone(UTC)})
            return
        t = _INBOUND
        done = _core(self.s).execute(update(t).where(t.c.id == inbound_id).values(
            state=state, reason=reason[:2000], ticket_id=ticket_id,
            processed_at=at.astimezone(UTC), attempts=t.c.attempts + 1))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise StorageError(f"no inbound message {inbound_id}")

    def failed(self, inbound_id: int, error: str, *, at: datetime, max_attempts: int) -> str:
        if self.s.get(InboundRow, inbound_id) is None:
            raise StorageError(f"no inbound message {inbound_id}")
        # the one inbox's rule; mail is retried at the batch runner's next sweep (no backoff)
        return InboxStore(self.s).failed(inbound_id, error, at=at,
                                         attempts=Attempts((0,) * (max_attempts - 1)))

    def requeue(self, inbound_id: int) -> bool:
        return InboxStore(self.s).requeue(inbound_id)


def _outbound(row: OutboxRow) -> OutboundMail:
    return OutboundMail(
        purpose=row.purpose, sender=row.sender, recipients=tuple(row.recipients),
        message_id=row.message_id, subject=row.subject, raw=row.raw, ticket_id=row.ticket_id,
        id=row.id, state=row.state, attempts=row.attempts, last_error=row.last_error,
        created_at=as_utc(row.created_at), sent_at=as_utc(row.sent_at) if row.sent_at else None)


class SqlOutboxRepository:
    def __init__(self, session: Session) -> None:
        self.s = session
        self.seen: Lookups | None = None  # write-behind mode: what was preloaded and written
        self._queued: set[str] = set()  # write-behind mode: Message-IDs queued meanwhile

    def add(self, mail: OutboundMail, *, at: datetime) -> bool:
        when = at.astimezone(UTC)
        key = (mail.recipients[0] if mail.recipients else "").lower()
        values = dict(
            created_at=when, ticket_id=mail.ticket_id, kind="mail", key=mail.message_id,
            channel="", payload={}, purpose=mail.purpose,
            sender=mail.sender, recipients=list(mail.recipients), recipient_key=key,
            message_id=mail.message_id, subject=mail.subject, raw=mail.raw, state="pending",
            attempts=0, next_attempt_at=when, last_error="")
        seen = self.seen
        if seen is not None:
            # a mail queued before this transaction is found when the rows are sent, and the
            # batch is then redone one message at a time (where this returns False)
            if mail.message_id in self._queued:
                return False
            row_id = seen.wb.new_id(_OUTBOX)
            seen.wb.add(_OUTBOX, {"id": row_id, **values})
            self._queued.add(mail.message_id)
            seen.undoable(lambda: self._queued.discard(mail.message_id))
            seen.sent(mail.message_id, 1, row_id, mail.ticket_id)
            counted = seen.recipients.get(key)
            if counted is not None:
                entry = (mail.purpose, when)
                counted.append(entry)
                seen.undoable(lambda: counted.remove(entry))
            return True
        conn = _core(self.s)
        make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        q = make(_OUTBOX).values(**values).on_conflict_do_nothing(
            index_elements=["message_id"]).returning(_OUTBOX.c.id)
        return conn.execute(q).first() is not None

    def preload_counts(self, recipients: Collection[str], since: datetime) -> None:
        """A hint in write-behind mode: read in one statement what ``count_since`` will be
        asked of these recipients for instants from ``since`` on. Outside it does nothing."""
        seen = self.seen
        if seen is None:
            return
        keys = sorted({r.lower() for r in recipients if r})
        since = since.astimezone(UTC)
        if seen.since is not None and seen.since > since:
            seen.recipients.clear()  # an earlier start: read again
        seen.since = since if seen.since is None or seen.since > since else seen.since
        keys = [k for k in keys if k not in seen.recipients]
        o = _OUTBOX.c
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            for k in chunk:
                seen.recipients[k] = []
            q = sa_select(o.recipient_key, o.purpose, o.created_at).where(
                o.recipient_key.in_(chunk), o.created_at >= seen.since)
            for k, purpose, created in _core(self.s).execute(q):
                seen.recipients[k].append((purpose, as_utc(created)))

    def count_since(self, recipient: str, purposes: Sequence[str], since: datetime) -> int:
        key = recipient.lower()
        seen = self.seen
        if seen is not None and seen.since is not None and seen.since <= since \
                and key in seen.recipients:
            return sum(1 for p, at in seen.recipients[key] if p in purposes and at >= since)
        q = select(func.count()).select_from(OutboxRow).where(
            OutboxRow.recipient_key == key,
            col(OutboxRow.purpose).in_(list(purposes)),
            col(OutboxRow.created_at) >= since.astimezone(UTC))
        return int(self.s.exec(q).one())

    def sent_message_ids(self, ticket_id: int) -> list[str]:
        q = select(OutboxRow.message_id).where(OutboxRow.ticket_id == ticket_id,
                                               OutboxRow.kind == "mail")
        return list(self.s.exec(q))


class SqlUnitOfWork:
    """``with SqlUnitOfWork(db, write=True) as uow: ...; uow.commit()``; rolls back otherwise."""

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
        of items, each in a ``savepoint``. Everything held is sent when the block ends."""
        wb = WriteBehind(_core(self.session))
        seen = Lookups(wb)
        self._wb = wb
        self.tickets.wb = self.inbound.wb = self.reminders.wb = wb
        self.messages.seen = self.outbox.seen = seen
        try:
            yield
            wb.flush()
        finally:
            wb.close()
            self._wb = None
            self.tickets.wb = self.inbound.wb = self.reminders.wb = None
            self.messages.seen = self.outbox.seen = None
            self.tickets.forget()

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
