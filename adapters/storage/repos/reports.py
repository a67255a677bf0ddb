"""Storage for reports: a period's tickets and their events, loaded in a few bulk queries."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from adapters.storage.database import absent_values, as_utc
from adapters.storage.tables import ClientRow, SentReportRow, TicketRow
from bot.errors import StorageError
from bot.model import TicketStatus
from bot.reports.approval import SentReport
from bot.ticket import Ticket

if TYPE_CHECKING:
    from adapters.storage.repos.tickets import SqlTicketRepository

NOT_CLOSED = [s.value for s in TicketStatus if s != TicketStatus.CLOSED]


class SqlReportRepository:
    def __init__(self, session: Session, tickets: SqlTicketRepository) -> None:
        self.s = session
        self._tickets = tickets  # rows to tickets, events in bulk: one way to do it
        self._unsent: set[str] = set()  # Message-IDs known to be of no sent report

    def period_tickets(self, client_id: int, start: datetime, end: datetime, *,
                       include_closed: bool = False) -> list[Ticket]:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        base = select(TicketRow).where(TicketRow.client_id == client_id,
                                       col(TicketRow.created_at) < end)
        # two queries, each served by its own index, rather than one OR the planner may not split
        rows = {r.id: r for r in self.s.exec(base.where(col(TicketRow.updated_at) >= start))}
        still = base if include_closed else base.where(col(TicketRow.status).in_(NOT_CLOSED))
        for r in self.s.exec(still):
            rows.setdefault(r.id, r)
        ordered = sorted(rows.values(), key=lambda r: r.id or 0)
        return self._tickets.from_rows([(r, "") for r in ordered])

    # -- reports sent for approval --------------------------------------------------------------

    def _sent(self, row: SentReportRow, client: str) -> SentReport:
        return SentReport(
            client_id=row.client_id, client=client, period_first=row.period_first,
            period_last=row.period_last, policy_version=row.policy_version,
            content_sha256=row.content_sha256, message_id=row.message_id,
            recipients=tuple(row.recipients), sent_at=as_utc(row.sent_at),
            due_at=as_utc(row.due_at), state=row.state,
            decided_at=as_utc(row.decided_at) if row.decided_at else None,
            decided_by=row.decided_by, note=row.note, figures=row.figures or "", id=row.id)

    def _named(self, q: Any) -> list[SentReport]:
        q = q.join(ClientRow, col(ClientRow.id) == col(SentReportRow.client_id))
        return [self._sent(r, name) for r, name in self.s.exec(q)]

    def add_sent(self, sent: SentReport) -> SentReport:
        self._unsent.clear()
        row = SentReportRow(
            client_id=sent.client_id, period_first=sent.period_first,
            period_last=sent.period_last, policy_version=sent.policy_version,
            content_sha256=sent.content_sha256, message_id=sent.message_id,
            recipients=list(sent.recipients), sent_at=sent.sent_at.astimezone(UTC),
            due_at=sent.due_at.astimezone(UTC), figures=sent.figures)
        self.s.add(row)
        self.s.flush()
        return self._sent(row, sent.client)

    def get_sent(self, report_id: int, *, for_update: bool = False) -> SentReport | None:
        q = select(SentReportRow, ClientRow.name).where(SentReportRow.id == report_id)
        if for_update:
            q = q.with_for_update(of=SentReportRow)  # type: ignore[arg-type]
        found = self._named(q)
        return found[0] if found else None

    def sent_reports(self, *, client_id: int | None = None) -> list[SentReport]:
        q = select(SentReportRow, ClientRow.name)
        if client_id is not None:
            q = q.where(SentReportRow.client_id == client_id)
        return self._named(q.order_by(col(SentReportRow.id).desc()))

    def preload_message_ids(self, message_ids: Collection[str]) -> None:
        """A hint: ``sent_by_message_ids`` will be asked of these; one statement now tells
        which are of no report, so asking of those alone costs no statement."""
        self._unsent |= absent_values(self.s, col(SentReportRow.message_id),
                                      {m for m in message_ids if m} - self._unsent)

    def sent_by_message_ids(self, message_ids: Sequence[str]) -> SentReport | None:
        ids = [m for m in message_ids if m][:100]
        if not ids or all(i in self._unsent for i in ids):
            return None
        q = select(SentReportRow, ClientRow.name).where(
            col(SentReportRow.message_id).in_(ids)).order_by(col(SentReportRow.id).desc())
        found = self._named(q)
        return found[0] if found else None

    def decide(self, report_id: int, state: str, *, at: datetime, by: str,
               note: str = "") -> SentReport:
        row = self.s.get(SentReportRow, report_id)
        if row is None:
            raise StorageError(f"no sent report {report_id}")
        row.state, row.decided_at, row.decided_by, row.note = state, at.astimezone(UTC), by, note
        self.s.add(row)
        self.s.flush()
        found = self.get_sent(report_id)
        assert found is not None
        return found
