"""Clients and staff: who the bot serves and who answers."""

from __future__ import annotations

from sqlmodel import Session, col, select

from adapters.storage.tables import ClientRow, StaffRow
from bot.model import Client, Staff
from bot.priority import Priority


def _client(row: ClientRow) -> Client:
    return Client(
        name=row.name, policy=row.policy, email_domains=tuple(row.email_domains),
        emails=tuple(row.emails), phones=tuple(row.phones),
        slack_channels=tuple(row.slack_channels), invoice_amount=row.invoice_amount,
        currency=row.currency,
        default_priority=Priority(row.default_priority) if row.default_priority else None,
        id=row.id, triage_channel=row.triage_channel,
        slack_users=tuple(row.slack_users or ()),
        rates=tuple(sorted((Priority(p), float(v)) for p, v in (row.rates or {}).items())),
    )


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
        row.rates = {p.value: r for p, r in client.rates}
        row.slack_users = list(client.slack_users)
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
        row.role = staff.role
        self.s.add(row)
        self.s.flush()
        return Staff(row.name, row.email, row.slack_user, row.phone, row.id, row.role)

    def list(self) -> list[Staff]:
        return [Staff(r.name, r.email, r.slack_user, r.phone, r.id, r.role)
                for r in self.s.exec(select(StaffRow).order_by(col(StaffRow.name)))]

