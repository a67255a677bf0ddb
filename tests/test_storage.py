"""The storage suite: runs unchanged on SQLite and on PostgreSQL (see conftest)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters.storage import SCHEMA_VERSION, Database, SqlUnitOfWork
from bot.errors import StorageError
from bot.model import (
    Channel,
    Client,
    EventKind,
    Message,
    OutboundMail,
    TicketStatus,
)
from bot.priority import Priority
from bot.ticket import Ticket
from tests.conftest import make_database
from tests.tickets import new_ticket

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _ticket(client_id: int | None, subject: str = "Checkout fails", at: datetime = T0) -> Ticket:
    return new_ticket(at=at, subject=subject, client_id=client_id)


def test_schema_is_current_after_upgrade_and_upgrade_is_idempotent(database: Database) -> None:
    assert database.current_version() == SCHEMA_VERSION
    database.check()
    assert database.upgrade() == (SCHEMA_VERSION, SCHEMA_VERSION)


def test_an_empty_database_is_reported_as_needing_upgrade(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert db.current_version() == 0
        with pytest.raises(StorageError, match="supportbot db upgrade"):
            db.check()
    finally:
        db.dispose()


@pytest.mark.parametrize("url", ["not a url", "mysql://x@y/z"])
def test_unsupported_urls_are_refused_with_the_key(url: str) -> None:
    with pytest.raises(StorageError, match=r"storage\.url"):
        Database(url)


def test_ticket_round_trip_keeps_aware_utc_instants_and_event_order(database: Database) -> None:
    with SqlUnitOfWork(database) as uow:
        c = uow.clients.upsert(Client(name="acme", policy="panenco", emails=("a@acme.example",)))
        t = _ticket(c.id)
        # a later event first, then an earlier one: reading gives them in time order
        t.note("later", actor="alice", now=T0 + timedelta(hours=2))
        t.respond(actor="alice", now=T0 + timedelta(hours=1))
        uow.tickets.add(t)
        uow.commit()
    assert t.id is not None
    with SqlUnitOfWork(database, write=False) as uow:
        got = uow.tickets.get(t.id)
    assert got is not None
    assert got.client_name == "acme"
    assert got.created_at == T0 and got.created_at.tzinfo is not None
    assert got.created_at.utcoffset() == timedelta(0)
    assert [e.kind for e in got.events] == [EventKind.REGISTERED, EventKind.PRIORITY_SET,
                                            EventKind.RESPONDED, EventKind.NOTE]
    assert got.events[3].data == {"text": "later"}
    assert got.status == TicketStatus.OPEN  # the response opened it
    assert all(e.at.tzinfo is not None for e in got.events)
    assert got.reference == f"T-{1000 + t.id}"


def test_instants_in_other_zones_are_stored_as_the_same_instant(database: Database) -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Brussels"))
    with SqlUnitOfWork(database) as uow:
        t = uow.tickets.add(_ticket(None, at=local))
        uow.commit()
    with SqlUnitOfWork(database, write=False) as uow:
        got = uow.tickets.get(t.id or 0)
    assert got is not None and got.created_at == T0  # 09:00 Brussels is 08:00 UTC


def test_uncommitted_work_is_rolled_back(database: Database) -> None:
    with SqlUnitOfWork(database) as uow:
        uow.tickets.add(_ticket(None))
        # no commit
    with SqlUnitOfWork(database, write=False) as uow:
        assert uow.tickets.list() == []


def test_list_filters_by_client_and_status_newest_first(database: Database) -> None:
    with SqlUnitOfWork(database) as uow:
        acme = uow.clients.upsert(Client(name="acme", policy="panenco"))
        other = uow.clients.upsert(Client(name="other", policy="panenco"))
        a1 = uow.tickets.add(_ticket(acme.id, "a1"))
        a2 = uow.tickets.add(_ticket(acme.id, "a2"))
        uow.tickets.add(_ticket(other.id, "o1"))
        a2.resolve(actor="alice", now=T0 + timedelta(hours=1))
        uow.tickets.save(a2)
        uow.commit()
    with SqlUnitOfWork(database, write=False) as uow:
        assert [t.subject for t in uow.tickets.list()] == ["o1", "a2", "a1"]
        assert [t.subject for t in uow.tickets.list(client="acme")] == ["a2", "a1"]
        new_acme = uow.tickets.list(client="acme", statuses=[TicketStatus.NEW])
        assert [t.subject for t in new_acme] == ["a1"]
        assert [t.subject for t in uow.tickets.list(limit=1)] == ["o1"]
        listed = uow.tickets.list(client="acme")
        assert [len(t.events) for t in listed] == [4, 2]  # a2: its resolution answered too
    assert a1.id is not None


def test_client_upsert_updates_in_place(database: Database) -> None:
    with SqlUnitOfWork(database) as uow:
        first = uow.clients.upsert(Client(name="acme", policy="panenco", phones=("+3216123456",)))
        second = uow.clients.upsert(Client(name="acme", policy="spinpanel",
                                           default_priority=Priority.P2))
        uow.commit()
    assert first.id == second.id
    with SqlUnitOfWork(database, write=False) as uow:
        got = uow.clients.get("acme")
        assert [c.name for c in uow.clients.list()] == ["acme"]
    assert got is not None
    assert got.policy == "spinpanel" and got.default_priority == Priority.P2 and got.phones == ()


def test_naive_instants_are_refused(database: Database) -> None:
    with SqlUnitOfWork(database) as uow:
        t = uow.tickets.add(_ticket(None))
        with pytest.raises(ValueError, match="aware"):
            t.note("naive", actor="x", now=datetime(2026, 11, 23, 10, 0))


def test_two_writers_on_one_ticket_are_serialised(database: Database) -> None:
    """Both read the ticket and try to resolve it; only one may, the other sees it resolved."""
    with SqlUnitOfWork(database) as uow:
        t = uow.tickets.add(_ticket(None))
        uow.commit()
    assert t.id is not None
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def resolve() -> None:
        barrier.wait()  # both start together (on SQLite the second then waits for its turn)
        with SqlUnitOfWork(database) as uow:
            got = uow.tickets.get(t.id or 0, for_update=True)
            assert got is not None
            if got.status == TicketStatus.RESOLVED:
                result = "refused"
            else:
                got.resolve(actor="w", now=T0)
                uow.tickets.save(got)
                uow.commit()
                result = "resolved"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=resolve) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert sorted(outcomes) == ["refused", "resolved"]
    with SqlUnitOfWork(database, write=False) as uow:
        got = uow.tickets.get(t.id)
    assert got is not None
    assert [e.kind for e in got.events].count(EventKind.RESOLVED) == 1


def test_messages_keep_raw_bytes_and_are_stored_once(database: Database) -> None:
    from bot.model import Message

    raw = b"From: jo@acme.example\r\nSubject: Down\r\n\r\n\xff\xfe not utf-8 \r\n"
    msg = Message("in", Channel.EMAIL, "<a1@acme.example>", raw, T0, sender="jo@acme.example",
                  subject="Down", text="not utf-8")
    with SqlUnitOfWork(database) as uow:
        t = uow.tickets.add(_ticket(None))
        first, added = uow.messages.add(Message(**{**msg.__dict__, "ticket_id": t.id}))
        again, added_again = uow.messages.add(msg)  # same Message-ID and bytes: no second row
        other, added_other = uow.messages.add(Message(**{**msg.__dict__, "raw": raw + b"x"}))
        uow.commit()
    assert (added, added_again, added_other) == (True, False, True)
    assert again.id == first.id and other.id != first.id
    with SqlUnitOfWork(database, write=False) as uow:
        stored = uow.messages.for_ticket(t.id or 0)
    assert [m.raw for m in stored] == [raw]
    assert stored[0].at == T0 and stored[0].content_hash == msg.content_hash


def test_a_version_1_database_upgrades_to_the_fresh_schema(tmp_path: Path) -> None:
    from sqlalchemy import inspect

    from adapters.storage.database import MIGRATIONS
    from adapters.storage.tables import SchemaVersionRow

    (tmp_path / "old").mkdir()
    (tmp_path / "fresh").mkdir()
    old = make_database(tmp_path / "old")
    fresh = make_database(tmp_path / "fresh")
    try:
        with old.write_engine.begin() as conn:  # what version 1 of supportbot created
            if old.schema:
                conn.execute(text(f'CREATE SCHEMA "{old.schema}"'))
            SchemaVersionRow.__table__.create(conn)  # type: ignore[attr-defined]
            MIGRATIONS[1](conn)
            conn.execute(SchemaVersionRow.__table__.insert().values(  # type: ignore[attr-defined]
                id=1, version=1, upgraded_at=T0))
        assert old.current_version() == 1
        assert old.upgrade() == (1, SCHEMA_VERSION)
        fresh.upgrade()

        def shape(db: Database) -> dict[str, list[str]]:
            insp = inspect(db.engine)
            return {t: sorted(c["name"] for c in insp.get_columns(t))
                    for t in insp.get_table_names()}

        assert shape(old) == shape(fresh)
        assert "inbound" in shape(old) and "outbox" in shape(old)
    finally:
        for db in (old, fresh):
            db.drop_schema()
            db.dispose()


def test_ticket_of_prefers_stored_messages_then_sent_mail_latest_first(database: Database) -> None:
    with SqlUnitOfWork(database) as uow:
        a, b, c = (uow.tickets.add(_ticket(None, s)).id for s in ("A", "B", "C"))
        for mid, tid in (("<in-1@x>", a), ("<in-2@x>", b), ("<loose@x>", None)):
            uow.messages.add(Message("in", Channel.EMAIL, mid, b"raw " + mid.encode(), T0,
                                     ticket_id=tid))
        for mid, tid in (("<out-1@x>", c), ("<out-2@x>", a)):
            uow.outbox.add(OutboundMail("ack", "s@x.example", ("jo@x.example",), mid, "s",
                                        b"raw", ticket_id=tid), at=T0)
        uow.commit()
    with SqlUnitOfWork(database, write=False) as uow:
        find = uow.messages.ticket_of
        assert find(["<in-1@x>", "<in-2@x>"]) == b  # the latest stored message
        assert find(["<out-1@x>", "<in-1@x>"]) == a  # a stored message before sent mail
        assert find(["<out-1@x>", "<out-2@x>"]) == a  # the latest sent mail
        assert find(["<out-1@x>", "<loose@x>"]) == c  # a message without a ticket is skipped
        assert find(["<nowhere@x>"]) is None and find([]) is None
