"""The staff dashboard served on a free port for a test, with staff accounts to sign in as."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from adapters.storage import Database, UnitOfWorks
from adapters.storage.staff_accounts import StaffAccounts
from adapters.web.dashboard import DashboardComponent
from adapters.web.dashboard.auth import hash_password
from bot.services import Helpdesk
from config.dashboard import DashboardSettings
from tests.webserve import serve

if TYPE_CHECKING:
    from adapters.bootstrap import App

SECRET = "test-session-secret-0123456789abcdef"
PASSWORDS = {"alice": "alice's long password", "bob": "bob's long password"}


@dataclass
class Site:
    url: str
    """The dashboard's root (``http://127.0.0.1:PORT/staff``)."""
    component: DashboardComponent


@contextlib.contextmanager
def dashboard(database: Database, helpdesk: Helpdesk, *, attempts: int = 5,
              sse_poll: float = 0.2, app: App | None = None) -> Iterator[Site]:
    """The dashboard on 127.0.0.1; alice (manager) and bob (staff) have passwords. With
    ``app``, its other pages too (clients, reports, outbox, ...)."""
    accounts = StaffAccounts(database)
    now = helpdesk.clock.now()
    accounts.set_password("alice", hash_password(PASSWORDS["alice"]), at=now, role="manager")
    accounts.set_password("bob", hash_password(PASSWORDS["bob"]), at=now)
    settings = DashboardSettings(enabled=True, session_secret=SECRET, secure_cookies=False,
                                 login_attempts=attempts)
    component = DashboardComponent(database, UnitOfWorks(database), helpdesk, settings,
                                   sse_poll=sse_poll, app=app)
    with serve(component.routes(), start=component.start, stop=component.stop) as base:
        yield Site(f"{base}/staff", component)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(http: httpx.Client, site: Site, name: str = "alice",
            password: str | None = None) -> httpx.Response:
    form = http.get(f"{site.url}/login")
    return http.post(f"{site.url}/login", data={
        "csrf": csrf_of(form.text), "name": name,
        "password": PASSWORDS[name] if password is None else password, "next": "/staff/"})
