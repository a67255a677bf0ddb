"""Who is signed in: argon2 password checks, the sign-in rate limit (per account and per
address, counted in the database so every instance agrees) and the session's staff member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request

from adapters.storage.staff_accounts import StaffAccount, StaffAccounts
from bot.clock import Clock

HASHER = PasswordHasher()
"""argon2id with the library's current (RFC 9106 low-memory) parameters."""

_DUMMY = HASHER.hash("no such account")
"""Checked against when the account does not exist, so both answers take as long."""


def hash_password(password: str) -> str:
    if len(password) < 10:
        raise ValueError("a staff password needs at least 10 characters")
    return HASHER.hash(password)


@dataclass(frozen=True)
class Signed:
    """The staff member of a request, from the session and the account as stored now."""

    name: str
    manager: bool

    @property
    def actor(self) -> str:
        """Who did it, in the audit trail (the Slack commands say ``NAME (slack:U...)``)."""
        return f"{self.name} (web)"


class SignIn:
    """Checks a name and password, within the rate limit."""

    def __init__(self, accounts: StaffAccounts, clock: Clock, *, attempts: int,
                 window: timedelta) -> None:
        self.accounts = accounts
        self.clock = clock
        self.attempts = attempts
        self.window = window
        self.outcomes: dict[str, int] = {"ok": 0, "refused": 0, "throttled": 0}

    def throttled(self, name: str, address: str) -> bool:
        since = self.clock.now() - self.window
        by_account, by_address = self.accounts.failures_since(name, address, since)
        return by_account >= self.attempts or by_address >= self.attempts

    def check(self, name: str, password: str, address: str) -> StaffAccount | None:
        """The account, if the password is its own and the limit not reached; a wrong try
        is counted against the account and the address."""
        now = self.clock.now()
        if self.throttled(name, address):
            self.outcomes["throttled"] += 1
            return None
        account = self.accounts.get(name)
        try:
            HASHER.verify(account.password_hash if account else _DUMMY, password)
            ok = account is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or account is None:
            self.accounts.failed(name, address, at=now)
            self.outcomes["refused"] += 1
            return None
        if HASHER.check_needs_rehash(account.password_hash):
            self.accounts.rehash(name, HASHER.hash(password))
        self.accounts.succeeded(name, before=now - self.window)
        self.outcomes["ok"] += 1
        return account


def start_session(request: Request, account: StaffAccount) -> None:
    """Sign ``account`` in: a fresh session (a new CSRF token) naming it."""
    request.session.clear()
    request.session.update({"staff": account.name,
                            "since": account.changed_at.isoformat()})


def signed_in(request: Request, accounts: StaffAccounts) -> Signed | None:
    """The session's staff member, if the account still exists and its password has not
    changed since the session began (a new password ends every older session)."""
    session: dict[str, Any] = request.session
    name = session.get("staff")
    if not isinstance(name, str):
        return None
    account = accounts.get(name)
    if account is None or session.get("since") != account.changed_at.isoformat():
        return None
    return Signed(account.name, account.manager)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


