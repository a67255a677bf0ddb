"""The tracker links' operations, and queueing tracker work in the one outbox (kind
``tracker``), on the caller's session; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from adapters.storage.database import as_utc
from adapters.storage.outbox import OutboxStore
from adapters.storage.tables import ClientRow, OutboxRow, TicketRow
from adapters.storage.tracker_tables import TrackerHookRow, TrackerLinkRow

KIND = "tracker"
"""The outbox kind of tracker work."""


@dataclass(frozen=True)
class TrackerLink:
    ticket_id: int
    kind: str
    client: str
    key: str | None
    url: str
    state: str | None
    priority: str | None
    synced_at: datetime | None
    error: str


def link_of(row: TrackerLinkRow) -> TrackerLink:
    return TrackerLink(row.ticket_id, row.kind, row.client, row.external_key, row.url,
                       row.state, row.priority, as_utc(row.synced_at) if row.synced_at
                       else None, row.error)


class TrackerLinks:
    """``tracker_link`` and the tracker rows of the outbox on one session."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, ticket_id: int) -> TrackerLink | None:
        row = self.s.get(TrackerLinkRow, ticket_id)
        return link_of(row) if row is not None else None

    def by_key(self, kind: str, client: str, key: str) -> TrackerLink | None:
        row = self.s.exec(select(TrackerLinkRow).where(
            TrackerLinkRow.kind == kind, TrackerLinkRow.client == client,
            TrackerLinkRow.external_key == key)).first()
        return link_of(row) if row is not None else None

    def queue(self, ticket_id: int, client: str, action: str, key: str, at: datetime,
              data: dict[str, Any] | None = None) -> bool:
        """Queue tracker work for the ticket (``client``'s tracker) once per ``key``."""
        return OutboxStore(self.s).queue(KIND, action, key=f"{ticket_id}:{key}", at=at,
                                         channel=client, ticket_id=ticket_id,
                                         payload=dict(data or {}))

    def create_row(self, ticket_id: int) -> tuple[int, str] | None:
        """The ticket's ``create`` row of the outbox: (id, state); None if never queued."""
        row = self.s.exec(select(OutboxRow.id, OutboxRow.state).where(
            OutboxRow.kind == KIND, OutboxRow.key == f"{ticket_id}:create:{ticket_id}")).first()
        return (int(row[0]), str(row[1])) if row is not None else None

    def unlinked(self, clients: list[str], statuses: tuple[str, ...]) -> list[tuple[int, str]]:
        """(id, client) of the tickets of ``clients`` in ``statuses`` with no item yet, oldest
        first."""
        q = (select(TicketRow.id, ClientRow.name)
             .join(ClientRow, col(ClientRow.id) == col(TicketRow.client_id))
             .outerjoin(TrackerLinkRow, col(TrackerLinkRow.ticket_id) == col(TicketRow.id))
             .where(col(ClientRow.name).in_(clients), col(TicketRow.status).in_(statuses),
                    col(TrackerLinkRow.external_key).is_(None))
             .order_by(col(TicketRow.id)))
        return [(i, name) for i, name in self.s.exec(q) if i is not None]

    def failures(self, limit: int = 20) -> list[tuple[str, int | None, str, str]]:
        """The failed tracker rows, newest first: (client, ticket id, action, error)."""
        q = select(OutboxRow.channel, OutboxRow.ticket_id, OutboxRow.purpose,
                   OutboxRow.last_error).where(OutboxRow.kind == KIND,
                                               OutboxRow.state == "failed"
                                               ).order_by(col(OutboxRow.id).desc()).limit(limit)
        return [(c, t, p, e) for c, t, p, e in self.s.exec(q)]

    def linked(self, ticket_id: int, kind: str, client: str, key: str, url: str, *,
               state: str, priority: str, at: datetime) -> None:
        """The item exists (created, or found carrying the reference)."""
        row = self.s.get(TrackerLinkRow, ticket_id) or TrackerLinkRow(
            ticket_id=ticket_id, kind=kind, client=client, created_at=at.astimezone(UTC))
        row.external_key, row.url, row.state, row.priority = key, url, state, priority
        row.synced_at, row.error = at.astimezone(UTC), ""
        self.s.add(row)
        self.s.flush()
        self.waiting_go_now(ticket_id, at)

    def waiting_go_now(self, ticket_id: int, at: datetime) -> None:
        """The ticket's tracker work waiting for its item goes now (the item is there)."""
        self.s.exec(update(OutboxRow).where(  # type: ignore[call-overload]
            col(OutboxRow.kind) == KIND, col(OutboxRow.ticket_id) == ticket_id,
            col(OutboxRow.state) == "pending").values(next_attempt_at=at.astimezone(UTC)))

    def mirrored(self, ticket_id: int, at: datetime, **values: str | None) -> None:
        """What the item shows now (``state``, ``priority``), after the bot or the tracker
        changed it."""
        row = self.s.get(TrackerLinkRow, ticket_id)
        if row is None:
            return
        for name, value in values.items():
            setattr(row, name, value)
        row.synced_at = at.astimezone(UTC)
        self.s.add(row)

    def refused(self, ticket_id: int, kind: str, client: str, error: str,
                at: datetime) -> None:
        """A permanent refusal, kept on the link to be shown with the ticket."""
        row = self.s.get(TrackerLinkRow, ticket_id) or TrackerLinkRow(
            ticket_id=ticket_id, kind=kind, client=client, created_at=at.astimezone(UTC))
        row.error = error[:2000]
        self.s.add(row)

    def status(self) -> dict[str, dict[str, Any]]:
        """Per client: the outbox's tracker rows by state, items linked, last synced."""
        out: dict[str, dict[str, Any]] = {}
        q = select(OutboxRow.channel, OutboxRow.state, func.count()).where(
            OutboxRow.kind == KIND).group_by(col(OutboxRow.channel), col(OutboxRow.state))
        for client, state, n in self.s.exec(q):
            out.setdefault(client, {"states": {}, "linked": 0, "last": None})
            out[client]["states"][state] = int(n)
        q2 = select(TrackerLinkRow.client, func.count(col(TrackerLinkRow.external_key)),
                    func.max(TrackerLinkRow.synced_at)).group_by(col(TrackerLinkRow.client))
        for client, n, last in self.s.exec(q2):
            entry = out.setdefault(client, {"states": {}, "linked": 0, "last": None})
            entry["linked"], entry["last"] = int(n), as_utc(last) if last else None
        return out


def hook_secret(s: Session, client: str, kind: str) -> str | None:
    row = s.get(TrackerHookRow, (client, kind))
    return row.secret if row is not None else None


def take_hook_secret(s: Session, client: str, kind: str, secret: str, at: datetime) -> bool:
    """Keep the handshake's ``secret`` unless another is kept already; True if it is ours."""
    row = s.get(TrackerHookRow, (client, kind))
    if row is None:
        s.add(TrackerHookRow(client=client, kind=kind, secret=secret,
                             created_at=at.astimezone(UTC)))
        return True
    return row.secret == secret
