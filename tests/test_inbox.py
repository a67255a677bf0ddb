"""The one inbox: migration 10 keeps a release-9 database's pending Slack events; store raw
then process with attempts, backoff and quarantine (the raw input kept); ``supportbot inbox``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.inbox.processor import Decision, Inbox
from adapters.storage import SCHEMA_VERSION, Database, SqlUnitOfWork, UnitOfWorks
from adapters.storage.inbox import Attempts, InboxItem, InboxStore
from adapters.storage.tables import SlackEventRow
from bot.clock import ManualClock
from tests.procs import run_main, storage_toml

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _before_10(meta: sa.MetaData) -> sa.Table:
    """The mail intakes' table as migration 2 created it."""
    return sa.Table(
        "inbound", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("channel", sa.String, nullable=False),
        sa.Column("peer", sa.String, nullable=False),
        sa.Column("mail_from", sa.String, nullable=False),
        sa.Column("rcpt_to", sa.JSON, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("ticket.id")),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("processed_at", sa.DateTime),
        sa.Index("ix_inbound_state_id", "state", "id"))


def _to_release_9(database: Database) -> None:
    meta = sa.MetaData()
    sa.Table("ticket", meta, sa.Column("id", sa.Integer, primary_key=True))
    old = _before_10(meta)
    slack: sa.Table = SlackEventRow.__table__  # type: ignore[attr-defined]
    with database.write_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE inbound"))
        old.create(conn)
        slack.create(conn)
        conn.execute(old.insert(), [{
            "received_at": T0, "channel": "smtp", "peer": "127.0.0.1", "mail_from": "jo@x",
            "rcpt_to": ["support@x"], "raw": b"Subject: hi\r\n\r\nhello\r\n", "size": 22,
            "state": "pending", "reason": "", "ticket_id": None, "attempts": 0,
            "processed_at": None}])
        event = {"received_at": T0, "kind": "message", "ticket_id": None, "attempts": 0,
                 "processed_at": None, "reason": ""}
        conn.execute(slack.insert(), [
            {**event, "event_id": "Ev1", "body": '{"event_id": "Ev1"}', "state": "pending"},
            {**event, "event_id": "Ev2", "body": '{"event_id": "Ev2"}', "state": "failed",
             "attempts": 5, "reason": "processing failed (attempt 5): KeyError: 'ts'",
             "processed_at": T0}])
        conn.execute(sa.text("UPDATE schema_version SET version = 9"))


def test_migration_10_keeps_pending_mail_and_slack_events(database: Database) -> None:
    def shape(db: Database) -> tuple[list[str], list[str]]:
        insp = sa.inspect(db.engine)
        return (sorted(c["name"] for c in insp.get_columns("inbound")),
                sorted(str(ix["name"]) for ix in insp.get_indexes("inbound")
                       if ix["name"] and not ix["name"].startswith("sqlite_")))

    fresh = shape(database)
    _to_release_9(database)
    assert database.upgrade() == (9, SCHEMA_VERSION)
    database.check()
    assert shape(database) == fresh
    assert "slack_event" not in sa.inspect(database.engine).get_table_names()
    with SqlUnitOfWork(database) as uow:
        events = InboxStore(uow.session).items("slack")
        [mail] = uow.inbound.pending()  # the mail batch runner sees mail only
        assert uow.slack.store_event("Ev1", "message", "{}", T0) == (events[0].id, False)
        uow.commit()
    assert [(e.key, e.state, e.attempts, e.peer) for e in events] == [
        ("Ev1", "pending", 0, "message"), ("Ev2", "quarantined", 5, "message")]
    assert events[0].text == '{"event_id": "Ev1"}' and "KeyError" in events[1].reason
    assert mail.channel == "smtp" and mail.raw.startswith(b"Subject: hi")
    slack = Inbox(UnitOfWorks(database), ManualClock(T0), "slack")
    assert slack.due() == [events[0].id]


def test_store_raw_once_then_backoff_then_quarantine_with_the_raw_kept(
        database: Database) -> None:
    clock = ManualClock(T0)
    inbox = Inbox(UnitOfWorks(database), clock, "tracker", attempts=Attempts((10, 60)))
    row_id, new = inbox.accept("hook-1", b'{"issue": 7}', peer="issue_updated")
    assert new and inbox.accept("hook-1", b'{"issue": 7}') == (row_id, False)
    seen: list[InboxItem] = []

    def broken(uow: SqlUnitOfWork, item: InboxItem) -> Decision:
        seen.append(item)
        raise KeyError("status")

    assert inbox.process(row_id, broken) == "pending"
    assert inbox.due() == []  # not before its backoff
    clock.advance(timedelta(seconds=10))
    assert inbox.due() == [row_id]
    assert inbox.process(row_id, broken) == "pending"
    clock.advance(timedelta(seconds=60))
    assert inbox.process(row_id, broken) == "quarantined"
    assert [i.raw for i in seen] == [b'{"issue": 7}'] * 3
    with SqlUnitOfWork(database) as uow:
        store = InboxStore(uow.session)
        item = store.get(row_id)
        assert item is not None and item.raw == b'{"issue": 7}' and item.attempts == 3
        assert item.reason == "processing failed (attempt 3): KeyError: 'status'"
        assert store.requeue(row_id)
        uow.commit()
    decision = inbox.apply(row_id, lambda uow, item: Decision("ignored", "issue closed"))
    assert decision == Decision("ignored", "issue closed")
    assert inbox.apply(row_id, broken).reason == "already processed"  # processed once
    assert inbox.settle(row_id, Decision("done")) == "ignored"
    with SqlUnitOfWork(database, write=False) as uow:
        assert InboxStore(uow.session).counts("tracker") == {"ignored": 1}


def test_inbox_commands_show_and_mend_what_any_intake_quarantined(
        capsys: pytest.CaptureFixture[str], database: Database, tmp_path: Path) -> None:
    config = tmp_path / "supportbot.toml"
    config.write_text(storage_toml(database), encoding="utf-8")
    inbox = Inbox(UnitOfWorks(database), ManualClock(T0), "slack", attempts=Attempts(()))
    row_id, _ = inbox.accept("Ev7", b'{"event_id": "Ev7"}', peer="message")

    def broken(uow: SqlUnitOfWork, item: InboxItem) -> Decision:
        raise ValueError("no channel")

    assert inbox.process(row_id, broken) == "quarantined"
    code, out, _ = run_main(capsys, config, "inbox", "list", "--state", "quarantined", "--json")
    [item] = json.loads(out)
    assert (item["kind"], item["key"], item["peer"]) == ("slack", "Ev7", "message")
    assert item["reason"] == "processing failed (attempt 1): ValueError: no channel"
    code, out, _ = run_main(capsys, config, "inbox", "show", str(row_id))
    assert code == 0 and out.startswith("state: quarantined, attempts: 1, reason: processing")
    assert out.rstrip().endswith('{"event_id": "Ev7"}')
    code, out, _ = run_main(capsys, config, "inbox", "retry", str(row_id))
    assert (code, out) == (0, f"{row_id}: pending\n")
    assert inbox.due() == [row_id]  # the bot's sweep takes it again
    code, _, err = run_main(capsys, config, "inbox", "drop", str(row_id))
    assert code == 1 and f"inbox input {row_id} is not quarantined" in err
    assert inbox.process(row_id, broken) == "quarantined"
    code, out, _ = run_main(capsys, config, "inbox", "drop", str(row_id), "--actor", "alice")
    assert (code, out) == (0, f"{row_id}: dropped\n")
    code, out, _ = run_main(capsys, config, "inbox", "list", "--kind", "slack")
    assert "dropped" in out and "dropped by alice" in out
    code, _, err = run_main(capsys, config, "inbox", "show", "4242")
    assert code == 1 and "no inbox input 4242" in err


def test_mail_counts_its_failed_attempts_by_the_same_rule(database: Database) -> None:
    from adapters.mail.inbound import Accepted, InboundStore

    mail_id = InboundStore(database, ManualClock(T0)).accept_now(
        Accepted(b"Subject: x\r\n\r\ny\r\n", "pipe", "pipe"))
    for attempt in (1, 2, 3):
        with SqlUnitOfWork(database) as uow:
            state = uow.inbound.failed(mail_id, "OSError: disk", at=T0, max_attempts=3)
            uow.commit()
        assert state == ("quarantined" if attempt == 3 else "pending")
    with SqlUnitOfWork(database) as uow:
        item = InboxStore(uow.session).get(mail_id)
        assert item is not None and item.kind == "mail" and item.processed_at == T0
        assert item.reason == "processing failed (attempt 3): OSError: disk"
        assert uow.inbound.requeue(mail_id)
        uow.commit()
        [pending] = uow.inbound.pending()
    assert (pending.id, pending.attempts, pending.state) == (mail_id, 0, "pending")
