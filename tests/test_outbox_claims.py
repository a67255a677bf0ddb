"""Outbox claims and their owners, on the real backend (SQLite file or PostgreSQL schema).

An owner is a process's lock (``adapters.outbox.owner``); a test plays "the process died" by
giving that lock back, which is what the kernel (SQLite's flock) or the server (PostgreSQL's
advisory lock on a closed connection) does when a process is killed.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.mail.outbound import OutboxSender, Relay
from adapters.outbox.delivery import Outbox, RetryPolicy
from adapters.outbox.owner import Owner
from adapters.storage import Database, SqlUnitOfWork
from adapters.storage.outbox import OutboxStore
from bot.clock import ManualClock
from bot.model import OutboundMail
from tests.mailpeers import LoopThread, Sink

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy((60,), timedelta(minutes=10))


def queue_mail(database: Database, n: int, at: datetime = T0) -> None:
    with SqlUnitOfWork(database) as uow:
        for i in range(n):
            uow.outbox.add(OutboundMail(
                "ack", "support@provider.example", (f"user{i}@acme.example",), f"<ack-{i}@x>",
                f"[T-{1001 + i}] Re: help", f"Message-ID: <ack-{i}@x>\r\nSubject: ack\r\n\r\n"
                f"ack {i}\r\n".encode()), at=at)
        uow.commit()


@pytest.fixture
def owners(database: Database) -> Iterator[list[Owner]]:
    made: list[Owner] = []
    yield made
    for o in made:
        o.release()


def owner(database: Database, made: list[Owner]) -> Owner:
    o = Owner(database)
    o.hold()
    made.append(o)
    return o


def test_a_dead_owners_claim_is_released_at_once_and_a_live_ones_is_not(
        database: Database, owners: list[Owner]) -> None:
    clock = ManualClock(T0)
    queue_mail(database, 2)
    first, second = owner(database, owners), owner(database, owners)
    a = Outbox(database, clock, "mail", POLICY, first)
    b = Outbox(database, clock, "mail", POLICY, second)
    ids = a.due()
    claimed = a.claim(ids[0])
    assert claimed is not None and claimed.claimed_by == first.id
    assert b.due() == [ids[1]]  # first is alive: its row is not b's to take
    assert b.claim(ids[0]) is None
    assert second.alive(first.id)

    first.release()  # the process is killed: its lock goes with it
    assert not second.alive(first.id)
    assert b.due() == ids  # at once: no clock moved, no ten minutes waited
    with database.session() as s:
        row = OutboxStore(s).get(ids[0])
    assert row is not None and row.state == "pending"
    assert row.message_id == "<ack-0@x>" and row.raw == claimed.raw  # the same mail again
    assert row.last_error.startswith(f"claimed by {first.id}, which ended before")
    again = b.claim(ids[0])
    assert again is not None and again.claimed_by == second.id
    b.sent(again)
    with database.session() as s:
        done = OutboxStore(s).get(ids[0])
    assert done is not None and (done.state, done.attempts, done.sent_at) == ("sent", 1, T0)
    assert b.recover() == []  # nothing of anybody's is left sending


def test_an_owner_never_seen_is_gone_and_a_claim_without_owner_waits_for_stale(
        database: Database, owners: list[Owner]) -> None:
    clock = ManualClock(T0)
    queue_mail(database, 2)
    me = owner(database, owners)
    box = Outbox(database, clock, "mail", POLICY, me)
    assert not me.alive("elsewhere:4242:0123456789ab")
    ids = box.due()
    with SqlUnitOfWork(database) as uow:  # one claimed by a release before owners, one by
        store = OutboxStore(uow.session)  # an owner whose lock is nowhere
        assert store.claim(ids[0], T0, POLICY.stale) is not None
        assert store.claim(ids[1], T0, POLICY.stale, "elsewhere:4242:0123456789ab")
        uow.commit()
    assert box.due() == [ids[1]]
    clock.advance(POLICY.stale)
    assert box.due() == ids  # the row without an owner: by the timeout, as before


def test_mark_sent_is_the_receipt_whoever_holds_the_claim(database: Database) -> None:
    queue_mail(database, 1)
    with SqlUnitOfWork(database) as uow:
        store = OutboxStore(uow.session)
        [row_id] = store.due("mail", T0, POLICY.stale)
        assert store.claim(row_id, T0, POLICY.stale, "a:1:aaaaaaaaaaaa") is not None
        assert store.mark_sent(row_id, T0 + timedelta(seconds=1))
        assert not store.mark_sent(row_id, T0 + timedelta(seconds=2))  # once
        uow.commit()
    with database.session() as s:
        item = OutboxStore(s).get(row_id)
    assert item is not None
    assert (item.state, item.attempts, item.claimed_by) == ("sent", 1, "a:1:aaaaaaaaaaaa")
    assert item.sent_at == T0 + timedelta(seconds=1)


def test_a_backlog_goes_out_in_one_pass_not_fifty_per_poll(database: Database) -> None:
    queue_mail(database, 120)
    lt = LoopThread()
    sink = Sink(lt)
    try:
        sender = OutboxSender(database, ManualClock(T0), Relay("127.0.0.1", sink.port))
        assert sender.send_due() == 120
        assert len(sink.handler.received) == 120
    finally:
        sink.close()
        lt.close()


KILLED_AFTER_THE_250 = """
import sys, time
from datetime import UTC, datetime
from adapters.outbox.delivery import Outbox, RetryPolicy
from adapters.storage import Database
from bot.clock import ManualClock
url, schema = sys.argv[1], sys.argv[2] or None
box = Outbox(Database(url, schema=schema), ManualClock(datetime(2026, 11, 23, 9, tzinfo=UTC)),
             "mail", RetryPolicy((60,), __import__("datetime").timedelta(minutes=10)))
[first, second] = box.due()
for row_id in (first, second):
    box.claim(row_id)
from adapters.storage.outbox import OutboxStore
with box.db.session() as s:
    item = OutboxStore(s).get(first)
receipt = box.receipt(item)
receipt.ready()  # the final dot is on its way to the relay
box.owner.note(first)  # SQLite: the relay's 250 was read and noted; PostgreSQL: nothing
print("claimed", flush=True)
time.sleep(60)  # and here the process is killed, before the commit of sent
"""


def test_a_process_killed_after_the_250_is_settled_by_its_receipt(
        database: Database, owners: list[Owner], tmp_path: Path) -> None:
    """SQLite: the 250 noted in the owner's journal makes the row sent, not sent again.
    PostgreSQL: the prepared ``sent`` was never committed, so the row goes again (the window
    between the 250 and the commit, which the journal closes on SQLite)."""
    queue_mail(database, 2)
    url = database.url.render_as_string(hide_password=False)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_AFTER_THE_250, url,
                             database.schema or ""], stdout=subprocess.PIPE,
                            cwd=Path(__file__).parent.parent)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"claimed\n"
    finally:
        proc.kill()
        proc.wait()
    me = owner(database, owners)
    box = Outbox(database, ManualClock(T0), "mail", POLICY, me)
    due = box.due()  # after settling what the dead process had claimed
    with database.session() as s:
        states = OutboxStore(s).items(kind="mail", newest_first=False)
    first, second = (i.id for i in states)
    assert [(i.state, i.message_id) for i in states] == [
        ("sent" if database.dialect == "sqlite" else "pending", "<ack-0@x>"),
        ("pending", "<ack-1@x>")]
    if database.dialect == "sqlite":  # the dead process's file went once its rows were settled
        folder = Path(str(database.url.database) + ".owners")
        assert [f.stem for f in folder.glob("*.lock")] == [me.id.rsplit(":", 1)[-1]]
    assert due == ([second] if database.dialect == "sqlite" else [first, second])
