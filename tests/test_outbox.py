"""The one outbox: migration 9 keeps a release-8 database's pending mail and Slack work, the
shared claim / record mechanism, and ``supportbot outbox list|show|retry|drop``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.outbox.delivery import Failure, Outbox, RetryPolicy
from adapters.storage import SCHEMA_VERSION, Database, SqlUnitOfWork
from adapters.storage.outbox import OutboxStore
from adapters.storage.tables import SlackOutboxRow
from bot.clock import ManualClock
from tests.procs import run_main, storage_toml

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _release_8_outbox(meta: sa.MetaData) -> sa.Table:
    """The mail outbox as release 8 created it (migration 2)."""
    return sa.Table(
        "outbox", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("ticket.id"), index=True),
        sa.Column("purpose", sa.String, nullable=False),
        sa.Column("sender", sa.String, nullable=False),
        sa.Column("recipients", sa.JSON, nullable=False),
        sa.Column("recipient_key", sa.String, nullable=False),
        sa.Column("message_id", sa.String, nullable=False, unique=True),
        sa.Column("subject", sa.String, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("last_error", sa.String, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.Index("ix_outbox_state_next", "state", "next_attempt_at"),
        sa.Index("ix_outbox_recipient_created", "recipient_key", "created_at"))


def _to_release_8(database: Database) -> None:
    """Turn a fresh database back into one release 8 made, with work queued in both outboxes."""
    meta = sa.MetaData()
    sa.Table("ticket", meta, sa.Column("id", sa.Integer, primary_key=True))  # for the foreign key
    old = _release_8_outbox(meta)
    slack: sa.Table = SlackOutboxRow.__table__  # type: ignore[attr-defined]
    mail = {"created_at": T0, "ticket_id": None, "purpose": "ack", "sender": "support@x",
            "recipients": ["jo@acme.example"], "recipient_key": "jo@acme.example",
            "subject": "Re: help", "state": "pending", "attempts": 0, "next_attempt_at": T0,
            "last_error": "", "sent_at": None}
    with database.write_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE outbox"))
        old.create(conn)
        slack.create(conn)
        conn.execute(old.insert(), [
            {**mail, "message_id": "<a1@x>", "raw": b"Subject: Re: help\r\n\r\nthanks\r\n"},
            {**mail, "message_id": "<a0@x>", "raw": b"x", "state": "sent", "attempts": 1,
             "sent_at": T0}])
        conn.execute(slack.insert(), [
            {"key": "triage:1:0", "created_at": T0, "ticket_id": None, "kind": "triage",
             "channel": "CTRIAGE", "payload": {}, "state": "pending", "attempts": 2,
             "next_attempt_at": T0, "last_error": "slack: ratelimited", "sent_at": None},
            {"key": "reply:Ev9", "created_at": T0, "ticket_id": None, "kind": "reply",
             "channel": "CACME", "payload": {"text": "Registered as T-1001",
                                              "thread_ts": "1.5"},
             "state": "failed", "attempts": 9, "next_attempt_at": T0,
             "last_error": "slack: channel_not_found", "sent_at": None}])
        conn.execute(sa.text("UPDATE schema_version SET version = 8"))


def test_migration_9_keeps_pending_mail_and_slack_work(database: Database) -> None:
    _to_release_8(database)
    assert database.upgrade() == (8, SCHEMA_VERSION)
    database.check()
    insp = sa.inspect(database.engine)
    assert "slack_outbox" not in insp.get_table_names()
    clock = ManualClock(T0 + timedelta(minutes=1))
    with SqlUnitOfWork(database, write=False) as uow:
        jobs = uow.slack.jobs()
        mails = OutboxStore(uow.session).items(kind="mail", newest_first=False)
    assert [(j.kind, j.state, j.attempts, j.channel) for j in jobs] == [
        ("triage", "pending", 2, "CTRIAGE"), ("reply", "failed", 9, "CACME")]
    assert jobs[1].payload == {"text": "Registered as T-1001", "thread_ts": "1.5"}
    assert [(m.key, m.state, m.message_id) for m in mails] == [
        ("<a1@x>", "pending", "<a1@x>"), ("<a0@x>", "sent", "<a0@x>")]
    # both kinds are due for their senders, and their dedupe keys still hold
    assert Outbox(database, clock, "mail", RetryPolicy((60,), timedelta(minutes=10))).due() \
        == [mails[0].id]
    assert Outbox(database, clock, "slack", RetryPolicy((5,), timedelta(minutes=5))).due() \
        == [jobs[0].id]
    with SqlUnitOfWork(database) as uow:
        assert not uow.slack.queue("triage", key="triage:1:0", channel="CTRIAGE", at=T0)
        assert uow.slack.queue("triage", key="triage:1:1", channel="CTRIAGE", at=T0)
        uow.commit()


def test_an_upgraded_outbox_has_the_shape_of_a_fresh_one(database: Database) -> None:
    def shape(db: Database) -> tuple[list[str], list[str]]:
        insp = sa.inspect(db.engine)
        return (sorted(c["name"] for c in insp.get_columns("outbox")),
                sorted(str(ix["name"]) for ix in insp.get_indexes("outbox")
                       if ix["name"] and not ix["name"].startswith("sqlite_")))

    fresh_shape = shape(database)
    _to_release_8(database)
    database.upgrade()
    assert shape(database) == fresh_shape
    assert "uq_outbox_kind_key" in fresh_shape[1]


def test_one_claim_per_row_backoff_then_failed_and_stale_sending_is_taken_again(
        database: Database) -> None:
    clock = ManualClock(T0)
    box = Outbox(database, clock, "slack", RetryPolicy((5, 30), timedelta(minutes=5)))
    with SqlUnitOfWork(database) as uow:
        uow.slack.queue("post", key="post:1", channel="C1", at=T0, payload={"text": "hi"})
        uow.commit()
    [row_id] = box.due()
    item = box.claim(row_id)
    assert item is not None and item.state == "sending" and item.payload == {"text": "hi"}
    assert box.claim(row_id) is None  # a second sender does not get it
    assert box.record(item, Failure("timeout")) == "pending"
    assert box.due() == []  # 5 s later, not before
    clock.advance(timedelta(seconds=5))
    item = box.claim(row_id)
    assert item is not None and item.attempts == 1
    assert box.record(item, Failure("slack: ratelimited", wait=90)) == "pending"
    clock.advance(timedelta(seconds=89))
    assert box.due() == []
    clock.advance(timedelta(seconds=1))
    item = box.claim(row_id)
    assert item is not None
    assert box.record(item, Failure("timeout")) == "failed"  # backoff used up
    with SqlUnitOfWork(database) as uow:
        uow.slack.queue("post", key="post:2", channel="C1", at=clock.now())
        uow.commit()
    [second] = box.due()
    assert box.claim(second) is not None  # and then the sender dies
    clock.advance(timedelta(minutes=4))
    assert box.due() == []
    clock.advance(timedelta(minutes=1))
    again = box.claim(second)
    assert again is not None and box.record(again, None) == "sent"


GOOD = (b"From: jo@acme.example\r\nTo: support@localhost\r\nSubject: Export fails\r\n"
        b"Message-ID: <q1@acme.example>\r\n\r\nThe export fails for some users.\r\n")


@pytest.fixture
def config(tmp_path: Path, database: Database) -> Path:
    text_ = storage_toml(database) + ('[[clients]]\nname = "acme"\n'
                                      'email_domains = ["acme.example"]\n')
    path = tmp_path / "supportbot.toml"
    path.write_text(text_, encoding="utf-8")
    return path


def test_outbox_commands_cover_mail_and_slack(capsys: pytest.CaptureFixture[str], config: Path,
                                              tmp_path: Path, database: Database) -> None:
    good = tmp_path / "good.eml"
    good.write_bytes(GOOD)
    assert run_main(capsys, config, "ingest", str(good))[0] == 0
    with SqlUnitOfWork(database) as uow:
        uow.slack.queue("post", key="post:m1", channel="CACME", at=T0,
                        payload={"text": "Maintenance tonight"})
        uow.commit()
    code, out, _ = run_main(capsys, config, "outbox", "list", "--json")
    post, ack = json.loads(out)
    assert (post["kind"], post["state"], post["purpose"], post["to"], post["subject"]) == (
        "slack", "pending", "post", ["CACME"], "Maintenance tonight")
    assert (ack["kind"], ack["purpose"], ack["to"]) == ("mail", "ack", ["jo@acme.example"])
    code, out, _ = run_main(capsys, config, "outbox", "list", "--kind", "slack")
    assert code == 0 and [line.split()[2] for line in out.splitlines()] == ["slack:post"]
    code, out, _ = run_main(capsys, config, "outbox", "show", str(post["id"]))
    assert code == 0 and "kind: slack, purpose: post, key: post:m1" in out
    assert '"text": "Maintenance tonight"' in out

    pid = str(post["id"])
    code, out, _ = run_main(capsys, config, "outbox", "retry", pid)
    assert code == 1
    code, out, _ = run_main(capsys, config, "outbox", "drop", pid, "--actor", "alice")
    assert (code, out) == (0, f"{pid}: dropped\n")
    code, out, _ = run_main(capsys, config, "outbox", "list", "--state", "pending", "--json")
    assert [i["id"] for i in json.loads(out)] == [ack["id"]]  # no sender will take it
    code, _, err = run_main(capsys, config, "outbox", "drop", pid)
    assert code == 1 and "is not pending or failed" in err
    code, out, _ = run_main(capsys, config, "outbox", "retry", pid, "--actor", "bob")
    assert (code, out) == (0, f"{pid}: pending\n")

    with SqlUnitOfWork(database) as uow:  # the mail gave up: 550 from the relay
        OutboxStore(uow.session).retry(ack["id"], "550 'no such user'", None)
        uow.commit()
    code, out, _ = run_main(capsys, config, "outbox", "list", "--state", "failed")
    assert "(550 'no such user')" in out
    code, out, _ = run_main(capsys, config, "outbox", "retry", str(ack["id"]), "--actor", "bob")
    assert (code, out) == (0, f"{ack['id']}: pending\n")
    code, out, _ = run_main(capsys, config, "outbox", "show", str(ack["id"]))
    assert out.startswith("state: pending, attempts: 0, last error: retried by bob; before: 550")
    assert "Subject: [T-1001] Re: Export fails" in out
    code, _, err = run_main(capsys, config, "outbox", "show", "999")
    assert code == 1 and "no outbox mail 999" in err
