"""The dashboard's tables (migration 15): staff sign-in accounts and failed sign-ins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class StaffAccountRow(SQLModel, table=True):
    """A staff member's dashboard password (an argon2 hash, never the password) and role."""

    __tablename__ = "staff_account"
    name: str = Field(primary_key=True)
    password_hash: str
    role: str = "staff"  # "staff" or "manager"
    changed_at: datetime
    """When the password was last set: sessions signed in before it are ended."""


class LoginFailureRow(SQLModel, table=True):
    """One refused sign-in, for the rate limit per account and per address (in the database,
    so every instance counts the same tries)."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_account_at", "account", "at"),
                      Index("ix_login_failure_address_at", "address", "at"))
    id: int | None = Field(default=None, primary_key=True)
    account: str
    address: str
    at: datetime
