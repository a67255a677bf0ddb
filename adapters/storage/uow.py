"""Repositories and the unit of work over SQLModel sessions; rows in, domain objects out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import func
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from adapters.storage.database import Database, _first_line
from adapters.storage.reminders import SqlReminderRepository
from adapters.storage.tables import (
    ClientRow,
    EventRow,
    InboundRow,
    MessageRow,
    OutboxRow,
    StaffRow,
    TicketRow,
)
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


def _utc(dt: datetime) -> datetime:
    """SQLite hands instants back naive; they were stored as UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _event(row: EventRow) -> Event:
    return Event(kind=EventKind(row.kind), at=_utc(row.at), actor=row.actor, data=dict(row.data),
                 ticket_id=row.ticket_id, id=row.id)


def _client(row: ClientRow) -> Client:
    return Client(
        name=row.name, policy=row.policy, email_domains=tuple(row.email_domains),
        emails=tuple(row.emails), phones=tuple(row.phones),
        slack_channels=tuple(row.slack_channels), invoice_amount=row.invoice_amount,
        currency=row.currency,
        default_priority=Priority(row.default_priority) if row.default_priority else None,
        id=row.id,
    )


class SqlTicketRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def _ticket(self, row: TicketRow, client_name: str, events: list[Event]) -> Ticket:
        return Ticket(
            client_id=row.client_id, client_name=client_name, policy=row.policy,
            subject=row.subject, priority=Priority(row.priority), channel=Channel(row.channel),
            status=TicketStatus(row.status), created_at=_utc(row.created_at),
            requester=row.requester, body=row.body, kind=row.kind, assignee=row.assignee,
            id=row.id, events=events,
        )

    def add(self, ticket: Ticket) -> Ticket:
        row = TicketRow(
            client_id=ticket.client_id, policy=ticket.policy, kind=ticket.kind,
            subject=ticket.subject, body=ticket.body, priority=ticket.priority.value,
            channel=ticket.channel.value, status=ticket.status.value,
            requester=ticket.requester, assignee=ticket.assignee,
            created_at=ticket.created_at, updated_at=ticket.created_at,
        )
        self.s.add(row)
        self.s.flush()
        ticket.id = row.id
        pending, ticket.events = ticket.events, []
        self.append(ticket, *pending)
        return ticket

    def get(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        q = select(TicketRow, ClientRow.name).outerjoin(
            ClientRow, col(ClientRow.id) == col(TicketRow.client_id)
        ).where(TicketRow.id == ticket_id)
        if for_update:
            q = q.with_for_update(of=TicketRow)  # type: ignore[arg-type]
        found = self.s.exec(q).first()
        if found is None:
            return None
        row, client_name = found
        return self._ticket(row, client_name or "", self._events([ticket_id])[ticket_id])

    def _events(self, ids: Sequence[int]) -> dict[int, list[Event]]:
        out: dict[int, list[Event]] = defaultdict(list)
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start:chunk_start + 500]
            q = select(EventRow).where(col(EventRow.ticket_id).in_(chunk)).order_by(
                col(EventRow.at), col(EventRow.id))
            for r in self.s.exec(q):
                out[r.ticket_id].append(_event(r))
        return out

    def append(self, ticket: Ticket, *events: Event) -> None:
        assert ticket.id is not None, "add the ticket before appending to it"
        last = ticket.created_at
        rows = []
        for e in events:
            if e.at.tzinfo is None:
                raise ValueError("event instants must be aware")
            rows.append(EventRow(ticket_id=ticket.id, kind=e.kind.value,
                                 at=e.at.astimezone(UTC), actor=e.actor, data=dict(e.data)))
            last = max(last, e.at)
        self.s.add_all(rows)
        self.s.flush()  # one round for all the events; their ids come back with it
        for e, row in zip(events, rows, strict=True):
            ticket.events.append(Event(e.kind, e.at, e.actor, dict(e.data), ticket.id, row.id))
        row_t = self.s.get(TicketRow, ticket.id)
        assert row_t is not None
        row_t.priority = ticket.priority.value
        row_t.status = ticket.status.value
        row_t.assignee = ticket.assignee
        row_t.subject = ticket.subject
        row_t.kind = ticket.kind
        row_t.updated_at = max(_utc(row_t.updated_at), last)
        self.s.add(row_t)

    def list(self, *, client: str | None = None, statuses: Sequence[TicketStatus] = (),
             limit: int = 100) -> list[Ticket]:
        q = select(TicketRow, ClientRow.name).outerjoin(
            ClientRow, col(ClientRow.id) == col(TicketRow.client_id))
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

    def upsert(self, client: Client) -> Client:
        row = self.s.exec(select(ClientRow).where(ClientRow.name == client.name)).first()
        row = row or ClientRow(name=client.name, policy=client.policy)
        row.policy = client.policy
        row.email_domains = list(client.email_domains)
        row.emails = list(client.emails)
        row.phones = list(client.phones)
        row.slack_channels = list(client.slack_channels)
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
        by_domain = None
        for c in self.list():  # clients are few; their address lists live in JSON columns
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
                   message_id=row.message_id, raw=row.raw, at=_utc(row.at), sender=row.sender,
                   subject=row.subject, text=row.text, ticket_id=row.ticket_id, id=row.id)


class SqlMessageRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, message: Message) -> tuple[Message, bool]:
        digest = message.content_hash
        q = select(MessageRow).where(MessageRow.message_id == message.message_id,
                                     MessageRow.content_hash == digest)
        found = self.s.exec(q).first()
        if found is not None:
            return _message(found), False
        row = MessageRow(
            ticket_id=message.ticket_id, direction=message.direction,
            channel=message.channel.value, message_id=message.message_id, content_hash=digest,
            sender=message.sender, subject=message.subject, text=message.text,
            raw=message.raw, at=message.at.astimezone(UTC))
        self.s.add(row)
        self.s.flush()
        return _message(row), True

    def for_ticket(self, ticket_id: int) -> list[Message]:
        q = select(MessageRow).where(MessageRow.ticket_id == ticket_id).order_by(
            col(MessageRow.at), col(MessageRow.id))
        return [_message(r) for r in self.s.exec(q)]

    def find(self, message_id: str, content_hash: str) -> Message | None:
        q = select(MessageRow).where(MessageRow.message_id == message_id,
                                     MessageRow.content_hash == content_hash)
        row = self.s.exec(q).first()
        return _message(row) if row else None

    def ticket_of(self, message_ids: Sequence[str]) -> int | None:
        ids = [m for m in message_ids if m][:100]
        if not ids:
            return None
        q = select(MessageRow.ticket_id).where(
            col(MessageRow.message_id).in_(ids), col(MessageRow.ticket_id).is_not(None)
        ).order_by(col(MessageRow.id).desc()).limit(1)
        found = self.s.exec(q).first()
        if found is not None:
            return found
        q2 = select(OutboxRow.ticket_id).where(
            col(OutboxRow.message_id).in_(ids), col(OutboxRow.ticket_id).is_not(None)
        ).order_by(col(OutboxRow.id).desc()).limit(1)
        return self.s.exec(q2).first()


def _inbound(row: InboundRow) -> InboundItem:
    return InboundItem(id=row.id or 0, channel=row.channel, raw=row.raw,
                       received_at=_utc(row.received_at), mail_from=row.mail_from,
                       peer=row.peer, attempts=row.attempts, state=row.state,
                       reason=row.reason, ticket_id=row.ticket_id)


class SqlInboundRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def pending(self, limit: int = 100) -> list[InboundItem]:
        q = select(InboundRow).where(InboundRow.state == "pending").order_by(
            col(InboundRow.id)).limit(limit)
        return [_inbound(r) for r in self.s.exec(q)]

    def get(self, inbound_id: int, *, for_update: bool = False) -> InboundItem | None:
        q = select(InboundRow).where(InboundRow.id == inbound_id)
        if for_update:
            q = q.with_for_update()
        row = self.s.exec(q).first()
        return _inbound(row) if row else None

    def list(self, state: str | None = None, limit: int = 100) -> list[InboundItem]:
        q = select(InboundRow)
        if state:
            q = q.where(InboundRow.state == state)
        return [_inbound(r) for r in self.s.exec(q.order_by(col(InboundRow.id).desc())
                                                  .limit(limit))]

    def finish(self, inbound_id: int, state: str, *, at: datetime, reason: str = "",
               ticket_id: int | None = None) -> None:
        row = self.s.get(InboundRow, inbound_id)
        if row is None:
            raise StorageError(f"no inbound message {inbound_id}")
        row.state, row.reason, row.ticket_id = state, reason[:2000], ticket_id
        row.processed_at = at.astimezone(UTC)
        row.attempts += 1
        self.s.add(row)

    def failed(self, inbound_id: int, error: str, *, at: datetime, max_attempts: int) -> str:
        row = self.s.get(InboundRow, inbound_id)
        if row is None:
            raise StorageError(f"no inbound message {inbound_id}")
        row.attempts += 1
        row.reason = f"processing failed (attempt {row.attempts}): {error}"[:2000]
        if row.attempts >= max_attempts:
            row.state = "quarantined"
            row.processed_at = at.astimezone(UTC)
        self.s.add(row)
        return row.state

    def requeue(self, inbound_id: int) -> bool:
        row = self.s.get(InboundRow, inbound_id)
        if row is None or row.state != "quarantined":
            return False
        row.state, row.attempts, row.processed_at = "pending", 0, None
        row.reason = f"retried after: {row.reason}"[:2000]
        self.s.add(row)
        return True


def _outbound(row: OutboxRow) -> OutboundMail:
    return OutboundMail(
        purpose=row.purpose, sender=row.sender, recipients=tuple(row.recipients),
        message_id=row.message_id, subject=row.subject, raw=row.raw, ticket_id=row.ticket_id,
        id=row.id, state=row.state, attempts=row.attempts, last_error=row.last_error,
        created_at=_utc(row.created_at), sent_at=_utc(row.sent_at) if row.sent_at else None)


class SqlOutboxRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, mail: OutboundMail, *, at: datetime) -> bool:
        exists = self.s.exec(select(OutboxRow.id).where(
            OutboxRow.message_id == mail.message_id)).first()
        if exists is not None:
            return False
        when = at.astimezone(UTC)
        self.s.add(OutboxRow(
            created_at=when, ticket_id=mail.ticket_id, purpose=mail.purpose,
            sender=mail.sender, recipients=list(mail.recipients),
            recipient_key=(mail.recipients[0] if mail.recipients else "").lower(),
            message_id=mail.message_id,
            subject=mail.subject, raw=mail.raw, next_attempt_at=when))
        self.s.flush()
        return True

    def count_since(self, recipient: str, purposes: Sequence[str], since: datetime) -> int:
        q = select(func.count()).select_from(OutboxRow).where(
            OutboxRow.recipient_key == recipient.lower(),
            col(OutboxRow.purpose).in_(list(purposes)),
            col(OutboxRow.created_at) >= since.astimezone(UTC))
        return int(self.s.exec(q).one())

    def sent_message_ids(self, ticket_id: int) -> list[str]:
        q = select(OutboxRow.message_id).where(OutboxRow.ticket_id == ticket_id)
        return list(self.s.exec(q))


class SqlUnitOfWork:
    """``with SqlUnitOfWork(db, write=True) as uow: ...; uow.commit()``; rolls back otherwise."""

    def __init__(self, db: Database, *, write: bool = True) -> None:
        self.db = db
        self.write = write

    def __enter__(self) -> SqlUnitOfWork:
        self.session = self.db.session(write=self.write)
        self.tickets = SqlTicketRepository(self.session)
        self.clients = SqlClientRepository(self.session)
        self.staff = SqlStaffRepository(self.session)
        self.messages = SqlMessageRepository(self.session)
        self.inbound = SqlInboundRepository(self.session)
        self.outbox = SqlOutboxRepository(self.session)
        self.reminders = SqlReminderRepository(self.session)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()
        if isinstance(exc, DBAPIError):
            raise StorageError(f"storage failed: {_first_line(exc)}") from exc

    def commit(self) -> None:
        try:
            self.session.commit()
        except DBAPIError as e:
            raise StorageError(f"storage failed: {_first_line(e)}") from e

    def rollback(self) -> None:
        self.session.rollback()
