"""Shared fixtures. The storage backend comes from ``SUPPORTBOT_TEST_DATABASE``:

- unset or ``sqlite``: a fresh SQLite file per test;
- a PostgreSQL URL (``postgresql://postgres@127.0.0.1:5432/test``): a fresh schema per test.

Tests that use the ``database`` fixture are marked ``db`` so CI can run them on each backend.
A backend (or other real peer) that cannot be reached fails the test; nothing is skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from adapters.storage import Database, SqlUnitOfWork
from bot.clock import ManualClock
from bot.errors import StorageError
from bot.model import Client, Staff
from bot.policies import PolicyBook
from bot.priority import Priority

if TYPE_CHECKING:
    from bot.services import Helpdesk

pytest_plugins = ["tests.mailbot"]

TEST_DATABASE = os.environ.get("SUPPORTBOT_TEST_DATABASE", "sqlite")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "database" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


def missing_peer(reason: str) -> NoReturn:
    """A real peer (database, server, the shared corpus) is not there: the test fails, never
    skips - a skipped test would read as a pass. ``make test`` provides every peer."""
    pytest.fail(f"required test peer missing: {reason} (make test installs and starts what "
                "the tests need)")


def make_database(tmp_path: Path) -> Database:
    if TEST_DATABASE == "sqlite":
        return Database(f"sqlite:///{tmp_path / 'test.db'}")
    return Database(TEST_DATABASE, schema=f"t_{uuid.uuid4().hex[:16]}")


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = make_database(tmp_path)
    try:
        db.upgrade(datetime(2026, 1, 1, tzinfo=UTC))
    except StorageError as e:
        db.dispose()
        missing_peer(f"database {TEST_DATABASE}: {e}")
    try:
        yield db
    finally:
        db.drop_schema()
        db.dispose()


@pytest.fixture
def no_supportbot_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``SUPPORTBOT_*`` variable of the caller's shell reaches in-process settings."""
    for name in list(os.environ):
        if name.startswith("SUPPORTBOT_"):
            monkeypatch.delenv(name)


@pytest.fixture
def clock() -> ManualClock:
    # Monday 23 November 2026, 09:00 in Brussels: the start of a working day
    return ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))


ACME = Client(name="acme", policy="panenco", email_domains=("acme.example",),
              phones=("+3216123456",), invoice_amount=12_000.0)
NIGHTOWL = Client(name="nightowl", policy="demo247", email_domains=("nightowl.example",),
                  default_priority=Priority.P4)


@pytest.fixture
def helpdesk(database: Database, clock: ManualClock) -> Helpdesk:
    from bot.services import Helpdesk

    hd = Helpdesk(lambda: SqlUnitOfWork(database), clock, PolicyBook("panenco"))
    hd.sync_directory([ACME, NIGHTOWL], [Staff("alice", "alice@provider.example")])
    return hd
