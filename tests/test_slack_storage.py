"""Migration 5 on a database from before it: the client's triage channel and the Slack tables
arrive, existing rows stay."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from adapters.storage import SCHEMA_VERSION, Database, SqlUnitOfWork
from bot.model import Client


def test_migration_5_upgrades_a_version_2_database(database: Database) -> None:
    with SqlUnitOfWork(database) as uow:
        uow.clients.upsert(Client(name="acme", policy="panenco"))
        uow.commit()
    with database.write_engine.begin() as conn:  # back to the schema of version 2
        for table in ("slack_outbox", "slack_thread", "slack_event"):
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("ALTER TABLE client DROP COLUMN triage_channel"))
        conn.execute(text("UPDATE schema_version SET version = 2"))
    assert database.current_version() == 2
    assert database.upgrade() == (2, SCHEMA_VERSION)
    database.check()
    with SqlUnitOfWork(database) as uow:
        assert uow.clients.get("acme") == Client(name="acme", policy="panenco", id=1)
        uow.clients.upsert(Client(name="acme", policy="panenco", triage_channel="CTRIAGE"))
        assert uow.slack.store_event("Ev1", "message", "{}", _now()) == (1, True)
        assert uow.slack.store_event("Ev1", "message", "{}", _now()) == (1, False)
        uow.commit()
    with SqlUnitOfWork(database, write=False) as uow:
        found = uow.clients.get("acme")
        assert found is not None and found.triage_channel == "CTRIAGE"


def _now() -> datetime:
    return datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
