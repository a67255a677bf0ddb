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
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
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


def test_an_event_while_the_triage_post_is_in_flight_still_gets_its_thread_line(
        database: Database) -> None:
    """The sender claimed the first triage post and is talking to Slack (no thread recorded
    yet): what happens to the ticket meanwhile is queued for the thread, not dropped."""
    from datetime import timedelta

    from adapters.slack.notify import SlackNotifier
    from bot.clock import ManualClock
    from bot.policies import PolicyBook
    from bot.priority import Priority
    from bot.services import Helpdesk

    database.upgrade()
    helpdesk = Helpdesk(lambda: SqlUnitOfWork(database), ManualClock(_now()),
                        PolicyBook("demo247"), [SlackNotifier("CTRIAGE")])
    helpdesk.sync_directory([Client(name="acme", policy="demo247")])
    ref = helpdesk.register(subject="Checkout down", client="acme", priority=Priority.P1,
                            actor="alice", reason="down").reference
    with SqlUnitOfWork(database) as uow:
        [triage] = uow.slack.jobs("pending")
        assert uow.slack.claim(triage.id or 0, _now(), timedelta(minutes=5)) is not None
        uow.commit()
    helpdesk.note(ref, "customer says it is back for some", actor="alice")
    with SqlUnitOfWork(database, write=False) as uow:
        lines = [j.payload["text"] for j in uow.slack.jobs() if j.kind == "thread"]
    assert len(lines) == 1 and "customer says it is back" in lines[0]
