"""The ports the core needs from storage. Adapters implement them; tests may use real ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from bot.model import (
    Client,
    Event,
    InboundItem,
    Message,
    OutboundMail,
    Staff,
    TicketStatus,
)
from bot.phone.model import Page, PhoneCall, Sms
from bot.phone.paging import AttemptState
from bot.ticket import Ticket

if TYPE_CHECKING:
    from bot.maintenance_window import MaintenanceWindow
    from bot.policy_version import PolicyVersion
    from bot.reports.model import SentReport


class TicketRepository(Protocol):
    def add(self, ticket: Ticket) -> Ticket:
        """Store a new ticket with the events it recorded; returns it with ``id`` set."""
        ...

    def get(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        """The ticket with all its events, oldest first (locked until commit if ``for_update``)."""
        ...

    def save(self, ticket: Ticket) -> None:
        """Store the events ``ticket`` recorded since it was read (or saved) and its
        projection (status, priority, ...)."""
        ...

    def collect_new_events(self) -> list[tuple[Ticket, list[Event]]]:
        """Save what this transaction's tickets recorded; each ticket with the saved events
        nobody was told of yet (taken: the next call gives only newer ones)."""
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
    def pending(self, limit: int = 100, *, now: datetime | None = None) -> list[InboundItem]:
        """Accepted messages not yet processed, oldest first; with ``now``, only those not
        waiting out the backoff of a failed attempt."""
        ...

    def get(self, inbound_id: int, *, for_update: bool = False) -> InboundItem | None:
        """One message (locked until commit if ``for_update``)."""
        ...

    def get_many(self, inbound_ids: Sequence[int], *, for_update: bool = False,
                 raw: bool = True) -> dict[int, InboundItem]:
        """These messages by id, in one read (locked until commit if ``for_update``);
        with ``raw=False``, their bytes are not read (``raw`` is empty)."""
        ...

    def list(self, state: str | None = None, limit: int = 100) -> list[InboundItem]:
        """Newest first."""
        ...

    def finish(self, inbound_id: int, state: str, *, at: datetime, reason: str = "",
               ticket_id: int | None = None) -> None:
        """Record the outcome: done, duplicate, ignored or quarantined (with a reason)."""
        ...

    def failed(self, inbound_id: int, error: str, *, at: datetime, max_attempts: int) -> str:
        """Count a failed attempt: pending again after its backoff, quarantined after
        ``max_attempts``. Returns the new state."""
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


# -- the phone side (Twilio) -------------------------------------------------------------------

class PhoneRepository(Protocol):
    """Pages and their attempts, calls and SMS by Sid, and webhook deliveries already seen."""

    def open_page(self, ticket_id: int, reason: str, numbers: Sequence[str],
                  at: datetime) -> Page | None:
        """Start paging for a ticket; None if it is being paged already."""
        ...

    def page(self, page_id: int, *, for_update: bool = False) -> Page | None: ...
    def active_pages(self) -> list[Page]: ...
    def finish_page(self, page_id: int, state: str, at: datetime,
                    taken_by: str | None = None) -> None: ...
    def attempts(self, page_id: int) -> list[AttemptState]: ...

    def add_attempt(self, page_id: int, n: int, number: str, at: datetime) -> bool:
        """Record attempt ``n`` before it is placed; False if it is recorded already."""
        ...

    def attempt_placed(self, page_id: int, n: int, call_sid: str | None,
                       sms_sid: str | None, at: datetime) -> None:
        """The attempt's call (None: placing it failed) and SMS."""
        ...

    def add_call(self, call: PhoneCall) -> bool:
        """Store a call by its Sid; False if that Sid is stored already."""
        ...

    def call(self, sid: str, *, for_update: bool = False) -> PhoneCall | None: ...
    def update_call(self, sid: str, **changes: object) -> None: ...
    def calls_linking(self) -> list[PhoneCall]:
        """Calls linked to a ticket whose follow-up is not yet confirmed, oldest first."""
        ...

    def waiting_calls(self, client_id: int, since: datetime) -> list[PhoneCall]:
        """Inbound calls of the client since ``since`` still waiting for a P1 mail."""
        ...

    def add_sms(self, sms: Sms) -> bool: ...
    def sms(self, sid: str, *, for_update: bool = False) -> Sms | None: ...
    def update_sms(self, sid: str, **changes: object) -> None: ...

    def awaiting_followup(self, statuses: Sequence[str] = ("new", "open", "paused")
                          ) -> list[Ticket]:
        """Tickets in ``statuses`` whose phone follow-up was required and never confirmed."""
        ...


class PhoneUnitOfWork(UnitOfWork, Protocol):
    phone: PhoneRepository
class ReportRepository(Protocol):
    """What SLA reports need from storage: one period's tickets in bulk."""

    def period_tickets(self, client_id: int, start: datetime, end: datetime, *,
                       include_closed: bool = False) -> list[Ticket]:
        """With their events: every ticket of the client registered before ``end`` that was
        changed at or after ``start`` or is not closed (``include_closed``: closed ones too,
        for policies whose clocks do not stop on ``closed``)."""
        ...

    def add_sent(self, sent: SentReport) -> SentReport:
        """Record a report sent for approval; returns it with ``id`` set."""
        ...

    def get_sent(self, report_id: int, *, for_update: bool = False) -> SentReport | None: ...

    def sent_reports(self, *, client_id: int | None = None) -> list[SentReport]:
        """Newest first."""
        ...

    def sent_by_message_ids(self, message_ids: Sequence[str]) -> SentReport | None:
        """The sent report whose mail has one of these Message-IDs (a reply's references)."""
        ...

    def decide(self, report_id: int, state: str, *, at: datetime, by: str,
               note: str = "") -> SentReport: ...


class ReportingUnitOfWork(UnitOfWork, Protocol):
    reports: ReportRepository


# -- maintenance windows -----------------------------------------------------------------------

class MaintenanceRepository(Protocol):
    """Announced maintenance windows, by key, with when their start and end were told."""

    def add(self, window: MaintenanceWindow) -> MaintenanceWindow: ...
    def get(self, key: str) -> MaintenanceWindow | None: ...

    def list(self) -> list[MaintenanceWindow]:
        """Every window, by start."""
        ...

    def overlapping(self, client: str, start: datetime, end: datetime) -> list[MaintenanceWindow]:
        """The windows told to ``client`` that overlap ``[start, end)``."""
        ...

    def due(self, now: datetime) -> list[MaintenanceWindow]:
        """Windows whose start or end has passed and was not told yet, locked until commit."""
        ...

    def mark_told(self, key: str, phase: str, at: datetime) -> None:
        """``started`` or ``ended`` (which also covers a start missed meanwhile)."""
        ...


class MaintenanceUnitOfWork(UnitOfWork, Protocol):
    maintenance: MaintenanceRepository


# -- policy versions ---------------------------------------------------------------------------

class PolicyVersionRepository(Protocol):
    """Each client's policy versions, with their content, oldest first."""

    def add(self, version: PolicyVersion) -> PolicyVersion: ...
    def latest(self, client_id: int, *, for_update: bool = False) -> PolicyVersion | None: ...
    def last_acknowledged(self, client_id: int) -> PolicyVersion | None: ...
    def by_message_ids(self, message_ids: Sequence[str]) -> PolicyVersion | None: ...

    def decide(self, version_id: int, state: str, *, at: datetime, by: str) -> PolicyVersion: ...


class PolicyChangeUnitOfWork(UnitOfWork, Protocol):
    policy_versions: PolicyVersionRepository
class ReminderRepository(Protocol):
    def request_replan(self, ticket_id: int, *, at: datetime) -> None:
        """Ask the scheduler to plan this ticket's reminders again once this commits."""
        ...


class RemindingUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also takes re-plan requests for the reminder scheduler."""

    reminders: ReminderRepository
