"""The ports the core needs from storage. Adapters implement them; tests may use real ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol

from bot.model import (
    Client,
    Event,
    InboundItem,
    Message,
    OutboundMail,
    Staff,
    Ticket,
    TicketStatus,
)


class TicketRepository(Protocol):
    def add(self, ticket: Ticket) -> Ticket:
        """Store a new ticket with its events; returns it with ``id`` set."""
        ...

    def get(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        """The ticket with all its events, oldest first (locked until commit if ``for_update``)."""
        ...

    def append(self, ticket: Ticket, *events: Event) -> None:
        """Append events to the ticket's log and save its projection (status, priority, ...)."""
        ...

    def list(self, *, client: str | None = None, statuses: Sequence[TicketStatus] = (),
             limit: int = 100) -> list[Ticket]:
        """Tickets, newest first, with their events."""
        ...


class ClientRepository(Protocol):
    def upsert(self, client: Client) -> Client: ...
    def get(self, name: str) -> Client | None: ...
    def get_by_id(self, client_id: int) -> Client | None: ...
    def list(self) -> list[Client]: ...

    def for_address(self, address: str) -> Client | None:
        """The client whose contact list has ``address``, else whose domains include its own."""
        ...


class StaffRepository(Protocol):
    def upsert(self, staff: Staff) -> Staff: ...
    def list(self) -> list[Staff]: ...


class MessageRepository(Protocol):
    def add(self, message: Message) -> tuple[Message, bool]:
        """Store ``message`` unless the same one is stored; returns (stored, newly_added)."""
        ...

    def for_ticket(self, ticket_id: int) -> list[Message]: ...

    def find(self, message_id: str, content_hash: str) -> Message | None:
        """The stored message with this Message-ID and content, if any."""
        ...

    def ticket_of(self, message_ids: Sequence[str]) -> int | None:
        """The ticket any of these Message-IDs (received or sent) belongs to, newest first."""
        ...


class InboundRepository(Protocol):
    def pending(self, limit: int = 100) -> list[InboundItem]:
        """Accepted messages not yet processed, oldest first."""
        ...

    def get(self, inbound_id: int, *, for_update: bool = False) -> InboundItem | None:
        """One message (locked until commit if ``for_update``)."""
        ...

    def list(self, state: str | None = None, limit: int = 100) -> list[InboundItem]:
        """Newest first."""
        ...

    def finish(self, inbound_id: int, state: str, *, at: datetime, reason: str = "",
               ticket_id: int | None = None) -> None:
        """Record the outcome: done, duplicate, ignored or quarantined (with a reason)."""
        ...

    def failed(self, inbound_id: int, error: str, *, at: datetime, max_attempts: int) -> str:
        """Count a failed attempt; quarantine after ``max_attempts``. Returns the new state."""
        ...

    def requeue(self, inbound_id: int) -> bool:
        """Put a quarantined message back in the queue (``quarantine retry``)."""
        ...


class OutboxRepository(Protocol):
    def add(self, mail: OutboundMail, *, at: datetime) -> bool:
        """Queue ``mail``; False if a mail with its Message-ID is queued already."""
        ...

    def count_since(self, recipient: str, purposes: Sequence[str], since: datetime) -> int:
        """How many mails of these purposes were queued for ``recipient`` since ``since``."""
        ...

    def sent_message_ids(self, ticket_id: int) -> list[str]: ...


class UnitOfWork(Protocol):
    """One transaction: everything done through it is committed together or not at all."""

    tickets: TicketRepository
    clients: ClientRepository
    staff: StaffRepository
    messages: MessageRepository
    inbound: InboundRepository
    outbox: OutboxRepository

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class ReminderRepository(Protocol):
    def request_replan(self, ticket_id: int, *, at: datetime) -> None:
        """Ask the scheduler to plan this ticket's reminders again once this commits."""
        ...


class RemindingUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also takes re-plan requests for the reminder scheduler."""

    reminders: ReminderRepository
