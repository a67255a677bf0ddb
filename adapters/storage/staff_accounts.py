"""Staff sign-in accounts and the failed sign-ins the rate limit counts, on the shared
database (so two instances behind one address agree on both)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import col, select

from adapters.storage.database import Database, as_utc
from adapters.storage.staff_tables import LoginFailureRow, StaffAccountRow

ROLES = ("staff", "manager")


@dataclass(frozen=True)
class StaffAccount:
    name: str
    password_hash: str
    role: str
    changed_at: datetime

    @property
    def manager(self) -> bool:
        return self.role == "manager"


def _account(row: StaffAccountRow) -> StaffAccount:
    return StaffAccount(row.name, row.password_hash, row.role, as_utc(row.changed_at))


class StaffAccounts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def set_password(self, name: str, password_hash: str, *, at: datetime,
                     role: str | None = None) -> StaffAccount:
        """Store ``name``'s new hash (and role, if given; a new account is ``staff``)."""
        if role is not None and role not in ROLES:
            raise ValueError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        with self.db.session(write=True) as s:
            row = s.get(StaffAccountRow, name)
            if row is None:
                row = StaffAccountRow(name=name, password_hash=password_hash,
                                      role=role or "staff", changed_at=at)
            else:
                row.password_hash, row.changed_at = password_hash, at
                row.role = role or row.role
            s.add(row)
            s.commit()
            return _account(row)

    def get(self, name: str) -> StaffAccount | None:
        with self.db.session() as s:
            row = s.get(StaffAccountRow, name)
            return _account(row) if row else None

    def list(self) -> list[StaffAccount]:
        with self.db.session() as s:
            return [_account(r) for r in s.exec(select(StaffAccountRow).order_by(
                col(StaffAccountRow.name)))]

    def rehash(self, name: str, password_hash: str) -> None:
        """A better hash of the same password (argon2 parameters raised): sessions go on."""
        with self.db.session(write=True) as s:
            row = s.get(StaffAccountRow, name)
            if row is not None:
                row.password_hash = password_hash
                s.add(row)
                s.commit()

    # -- the rate limit ----------------------------------------------------------------------

    def failed(self, account: str, address: str, *, at: datetime) -> None:
        with self.db.session(write=True) as s:
            s.add(LoginFailureRow(account=account, address=address, at=at))
            s.commit()

    def failures_since(self, account: str, address: str, since: datetime) -> tuple[int, int]:
        """Failed sign-ins since ``since``: (for this account, from this address)."""
        with self.db.session() as s:
            by_account = s.exec(select(func.count()).select_from(LoginFailureRow).where(
                LoginFailureRow.account == account, col(LoginFailureRow.at) >= since)).one()
            by_address = s.exec(select(func.count()).select_from(LoginFailureRow).where(
                LoginFailureRow.address == address, col(LoginFailureRow.at) >= since)).one()
        return int(by_account), int(by_address)

    def succeeded(self, account: str, *, before: datetime) -> None:
        """A correct sign-in: the account's failures are forgotten, and every failure older
        than ``before`` (outside any window) is removed."""
        with self.db.session(write=True) as s:
            s.exec(delete(LoginFailureRow).where(  # type: ignore[call-overload]
                (col(LoginFailureRow.account) == account) | (col(LoginFailureRow.at) < before)))
            s.commit()
