"""The phone repository: pages and attempts, calls and SMS by Sid."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import exists
from sqlmodel import Session, col, select

from adapters.storage.database import as_utc
from adapters.storage.tables import (
    ClientRow,
    EventRow,
    PageAttemptRow,
    PageRow,
    PhoneCallRow,
    PhoneSmsRow,
    TicketRow,
)
from bot.errors import StorageError
from bot.model import EventKind
from bot.phone.model import Page, PhoneCall, Sms
from bot.phone.paging import AttemptState
from bot.ticket import Ticket

if TYPE_CHECKING:
    from adapters.storage.repos.tickets import SqlTicketRepository


def _utc_or_none(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return as_utc(dt)


def _page(r: PageRow) -> Page:
    return Page(id=r.id or 0, ticket_id=r.ticket_id, reason=r.reason, numbers=tuple(r.numbers),
                state=r.state, created_at=as_utc(r.created_at),
                taken_by=r.taken_by,
                taken_at=_utc_or_none(r.finished_at) if r.state == "taken" else None)


def _call(r: PhoneCallRow) -> PhoneCall:
    return PhoneCall(sid=r.sid, direction=r.direction, from_number=r.from_number,
                     to_number=r.to_number, created_at=as_utc(r.created_at),
                     status=r.status, status_at=_utc_or_none(r.status_at), ticket_id=r.ticket_id,
                     client_id=r.client_id, page_id=r.page_id, attempt=r.attempt, link=r.link)


def _sms(r: PhoneSmsRow) -> Sms:
    return Sms(sid=r.sid, to_number=r.to_number, created_at=as_utc(r.created_at),
               status=r.status, status_at=_utc_or_none(r.status_at), ticket_id=r.ticket_id,
               page_id=r.page_id)


def _instants(changes: dict[str, object]) -> dict[str, object]:
    return {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in changes.items()}


class SqlPhoneRepository:
    def __init__(self, session: Session, tickets: SqlTicketRepository) -> None:
        self.s = session
        self._tickets = tickets

    # -- pages -----------------------------------------------------------------------------

    def open_page(self, ticket_id: int, reason: str, numbers: Sequence[str],
                  at: datetime) -> Page | None:
        active = self.s.exec(select(PageRow.id).where(PageRow.ticket_id == ticket_id,
                                                      PageRow.state == "active")).first()
        if active is not None:
            return None
        row = PageRow(ticket_id=ticket_id, reason=reason, numbers=list(numbers),
                      created_at=at.astimezone(UTC))
        self.s.add(row)
        self.s.flush()
        return _page(row)

    def page(self, page_id: int, *, for_update: bool = False) -> Page | None:
        q = select(PageRow).where(PageRow.id == page_id)
        if for_update:
            q = q.with_for_update()
        row = self.s.exec(q).first()
        return _page(row) if row else None

    def active_pages(self) -> list[Page]:
        q = select(PageRow).where(PageRow.state == "active").order_by(col(PageRow.id))
        return [_page(r) for r in self.s.exec(q)]

    def finish_page(self, page_id: int, state: str, at: datetime,
                    taken_by: str | None = None) -> None:
        row = self.s.get(PageRow, page_id)
        if row is None:
            raise StorageError(f"no page {page_id}")
        row.state, row.finished_at, row.taken_by = state, at.astimezone(UTC), taken_by
        self.s.add(row)
        self.s.flush()

    def attempts(self, page_id: int) -> list[AttemptState]:
        q = select(PageAttemptRow, PhoneCallRow).outerjoin(
            PhoneCallRow, col(PhoneCallRow.sid) == col(PageAttemptRow.call_sid)
        ).where(PageAttemptRow.page_id == page_id).order_by(col(PageAttemptRow.n))
        out = []
        for a, c in self.s.exec(q):
            if a.state == "not-placed":
                status, at = "not-placed", _utc_or_none(a.state_at)
            else:
                status, at = (c.status, _utc_or_none(c.status_at)) if c else (None, None)
            out.append(AttemptState(a.n, a.number, as_utc(a.placed_at),
                                    status, at))
        return out

    def add_attempt(self, page_id: int, n: int, number: str, at: datetime) -> bool:
        exists = self.s.exec(select(PageAttemptRow.id).where(
            PageAttemptRow.page_id == page_id, PageAttemptRow.n == n)).first()
        if exists is not None:
            return False
        self.s.add(PageAttemptRow(page_id=page_id, n=n, number=number,
                                  placed_at=at.astimezone(UTC)))
        self.s.flush()
        return True

    def attempt_placed(self, page_id: int, n: int, call_sid: str | None,
                       sms_sid: str | None, at: datetime) -> None:
        row = self.s.exec(select(PageAttemptRow).where(
            PageAttemptRow.page_id == page_id, PageAttemptRow.n == n)).first()
        if row is None:
            raise StorageError(f"no attempt {n} of page {page_id}")
        row.call_sid, row.sms_sid = call_sid, sms_sid
        row.state = "placed" if call_sid else "not-placed"
        row.state_at = at.astimezone(UTC)
        self.s.add(row)
        self.s.flush()

    # -- calls and SMS ---------------------------------------------------------------------

    def add_call(self, call: PhoneCall) -> bool:
        if self.s.get(PhoneCallRow, call.sid) is not None:
            return False
        self.s.add(PhoneCallRow(
            sid=call.sid, direction=call.direction, from_number=call.from_number,
            to_number=call.to_number, created_at=call.created_at.astimezone(UTC),
            status=call.status, status_at=call.status_at.astimezone(UTC)
            if call.status_at else None, ticket_id=call.ticket_id, client_id=call.client_id,
            page_id=call.page_id, attempt=call.attempt, link=call.link))
        self.s.flush()
        return True

    def call(self, sid: str, *, for_update: bool = False) -> PhoneCall | None:
        q = select(PhoneCallRow).where(PhoneCallRow.sid == sid)
        if for_update:
            q = q.with_for_update()
        row = self.s.exec(q).first()
        return _call(row) if row else None

    def update_call(self, sid: str, **changes: object) -> None:
        row = self.s.get(PhoneCallRow, sid)
        if row is None:
            raise StorageError(f"no call {sid}")
        for k, v in _instants(changes).items():
            setattr(row, k, v)
        self.s.add(row)
        self.s.flush()

    def calls_linking(self) -> list[PhoneCall]:
        q = select(PhoneCallRow).where(PhoneCallRow.link == "confirming").order_by(
            col(PhoneCallRow.created_at))
        return [_call(r) for r in self.s.exec(q)]

    def waiting_calls(self, client_id: int, since: datetime) -> list[PhoneCall]:
        q = select(PhoneCallRow).where(
            PhoneCallRow.client_id == client_id, col(PhoneCallRow.link).in_(
                ["waiting", "voicemail"]), PhoneCallRow.direction == "in",
            col(PhoneCallRow.created_at) >= since.astimezone(UTC)
        ).order_by(col(PhoneCallRow.created_at))
        return [_call(r) for r in self.s.exec(q)]

    def add_sms(self, sms: Sms) -> bool:
        if self.s.get(PhoneSmsRow, sms.sid) is not None:
            return False
        self.s.add(PhoneSmsRow(sid=sms.sid, to_number=sms.to_number,
                               created_at=sms.created_at.astimezone(UTC), status=sms.status,
                               ticket_id=sms.ticket_id, page_id=sms.page_id))
        self.s.flush()
        return True

    def sms(self, sid: str, *, for_update: bool = False) -> Sms | None:
        q = select(PhoneSmsRow).where(PhoneSmsRow.sid == sid)
        if for_update:
            q = q.with_for_update()
        row = self.s.exec(q).first()
        return _sms(row) if row else None

    def update_sms(self, sid: str, **changes: object) -> None:
        row = self.s.get(PhoneSmsRow, sid)
        if row is None:
            raise StorageError(f"no SMS {sid}")
        for k, v in _instants(changes).items():
            setattr(row, k, v)
        self.s.add(row)
        self.s.flush()

    # -- the client's follow-up call ---------------------------------------------------------

    def awaiting_followup(self, statuses: Sequence[str] = ("new", "open", "paused")
                          ) -> list[Ticket]:
        """Tickets in ``statuses`` whose phone follow-up was required and never confirmed,
        with their events: the status index picks the active tickets, the event index
        (ticket, instant) answers each one's two questions. A follow-up waived after it was
        required is among them; ``Ticket.phone_followup`` tells."""
        def has(kind: EventKind) -> object:
            return exists().where(col(EventRow.ticket_id) == col(TicketRow.id),
                                  col(EventRow.kind) == kind.value)

        q = select(TicketRow, ClientRow.name).outerjoin(
            ClientRow, col(ClientRow.id) == col(TicketRow.client_id)
        ).where(col(TicketRow.status).in_(list(statuses)),
                has(EventKind.PHONE_FOLLOWUP_REQUIRED),
                ~has(EventKind.PHONE_FOLLOWUP_CONFIRMED)).order_by(col(TicketRow.id))
        return self._tickets.from_rows(list(self.s.exec(q)))
