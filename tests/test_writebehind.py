"""Write-behind mode of the unit of work (``adapters/storage/writebehind.py``), on the backend
chosen by ``SUPPORTBOT_TEST_DATABASE``: reads see every earlier write whoever issues them, an
item is undone exactly or the batch is refused as a whole, and the ``preload`` hints answer as
the database would."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from adapters.storage import Database, SqlUnitOfWork
from adapters.storage.tables import InboundRow
from bot.errors import BatchAborted
from bot.model import (
    Channel,
    InboundItem,
    Message,
    OutboundMail,
    TicketStatus,
)
from bot.priority import Priority
from bot.ticket import Ticket
from tests.tickets import new_ticket

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _ticket(subject: str, at: datetime = T0) -> Ticket:
    return new_ticket(at=at, subject=subject, priority=Priority.P3, actor="mail")


def _message(mid: str, ticket_id: int | None, body: bytes = b"raw") -> Message:
    return Message(direction="in", channel=Channel.EMAIL, message_id=mid, raw=body, at=T0,
                   sender="jo@acme.example", subject="s", text="t", ticket_id=ticket_id)


def _mail(mid: str, to: str, ticket_id: int | None, purpose: str = "ack") -> OutboundMail:
    return OutboundMail(purpose, "support@provider.example", (to,), mid, "s", b"raw",
                        ticket_id=ticket_id)


def _count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _inbound(db: Database, n: int) -> list[InboundItem]:
    with SqlUnitOfWork(db) as uow:
        for i in range(n):
            uow.session.add(InboundRow(received_at=T0, channel="smtp", raw=f"m{i}".encode()))
        uow.commit()
    with SqlUnitOfWork(db, write=False) as uow:
        return uow.inbound.pending()


def test_held_writes_are_sent_once_and_read_back_as_written(database: Database) -> None:
    with SqlUnitOfWork(database) as uow:
        with uow.write_behind():
            t = uow.tickets.add(_ticket("Checkout fails"))
            assert t.id is not None and [e.id for e in t.events] != [None]
            t.note("more", actor="mail", now=T0 + timedelta(minutes=1))
            uow.tickets.save(t)
            uow.messages.add(_message("<a@x>", t.id))
            assert uow.outbox.add(_mail("<ack@x>", "jo@acme.example", t.id), at=T0)
            assert not uow.outbox.add(_mail("<ack@x>", "jo@acme.example", t.id), at=T0)
            assert _count(database, "ticket") == 0  # nothing sent yet, nothing committed
            # any read of those tables sends what is held first: the ORM's, a raw one
            listed = uow.tickets.list()
            assert [x.id for x in listed] == [t.id]
            assert [e.id for e in listed[0].events] == [e.id for e in t.events]
            n = uow.session.execute(text("SELECT count(*) FROM message")).scalar_one()
            assert n == 1
            t.respond(actor="x", now=T0 + timedelta(minutes=2))
            uow.tickets.save(t)
        uow.commit()
    with SqlUnitOfWork(database, write=False) as uow:
        back = uow.tickets.get(t.id)
        assert back is not None and back.status == TicketStatus.OPEN
        assert [e.id for e in back.events] == [e.id for e in t.events]
        assert back.events[-1].at == T0 + timedelta(minutes=2)
        assert back.events[0].data == {"channel": "email"}
        assert [e.data for e in back.events][2:] == [{"text": "more"}, {}]
        assert back.created_at == T0 and back.subject == "Checkout fails"
        assert uow.messages.ticket_of(["<ack@x>"]) == t.id
        stored = uow.messages.for_ticket(t.id)
        assert [(m.raw, m.at, m.message_id) for m in stored] == [(b"raw", T0, "<a@x>")]
    assert (_count(database, "event"), _count(database, "outbox")) == (4, 1)


def test_a_read_through_a_subquery_sends_what_is_held_first(database: Database) -> None:
    with SqlUnitOfWork(database) as uow, uow.write_behind():
        t = uow.tickets.add(_ticket("Checkout fails"))
        assert uow.outbox.add(_mail("<sub-ack@x>", "jo@acme.example", t.id), at=T0)
        assert _count(database, "outbox") == 0
        # not preloaded: one UNION of messages and sent mail, read from a subquery
        assert uow.messages.ticket_of(["<sub-ack@x>"]) == t.id


def test_after_the_block_the_unit_of_work_writes_straight_through_again(
        database: Database) -> None:
    items = _inbound(database, 1)
    with SqlUnitOfWork(database) as uow:
        with uow.write_behind():
            held = uow.tickets.add(_ticket("in the batch"))
        t = uow.tickets.add(_ticket("after the batch"))
        assert t.id is not None and held.id is not None and t.id > held.id
        t.note("after", actor="x", now=T0 + timedelta(minutes=1))
        uow.tickets.save(t)
        uow.messages.add(_message("<after@x>", t.id))
        assert uow.outbox.add(_mail("<after-ack@x>", "jo@acme.example", t.id), at=T0)
        uow.inbound.finish(items[0].id, "done", at=T0, ticket_id=t.id)
        uow.reminders.request_replan(t.id, at=T0)
        with pytest.raises(RuntimeError), uow.savepoint():  # a nested transaction again
            uow.tickets.add(_ticket("rolled back"))
            raise RuntimeError("undo this one")
        uow.commit()
    with SqlUnitOfWork(database, write=False) as uow:
        assert sorted(x.subject for x in uow.tickets.list()) == ["after the batch",
                                                                 "in the batch"]
        assert [i.state for i in uow.inbound.list()] == ["done"]
        assert uow.messages.ticket_of(["<after-ack@x>"]) == t.id
    assert [_count(database, n) for n in ("event", "message", "outbox", "reminder_replan")] \
        == [5, 1, 1, 1]  # two tickets of two events each, and a note


def test_a_failing_item_is_undone_exactly_and_the_others_commit(database: Database) -> None:
    items = _inbound(database, 3)
    with SqlUnitOfWork(database) as uow:
        with uow.write_behind():
            for n, item in enumerate(items):
                try:
                    with uow.savepoint():
                        t = uow.tickets.add(_ticket(f"report {n}"))
                        uow.messages.add(_message(f"<m{n}@x>", t.id))
                        uow.outbox.add(_mail(f"<ack{n}@x>", "jo@acme.example", t.id), at=T0)
                        uow.inbound.finish(item.id, "done", at=T0, ticket_id=t.id)
                        if n == 1:
                            raise RuntimeError("a bug halfway")
                except RuntimeError:
                    pass
            # what the failed item wrote is gone from the lookups too
            assert uow.messages.find("<m1@x>", _message("<m1@x>", None).content_hash) is None
            assert uow.messages.ticket_of(["<ack1@x>"]) is None
        uow.commit()
    with SqlUnitOfWork(database, write=False) as uow:
        assert sorted(t.subject for t in uow.tickets.list()) == ["report 0", "report 2"]
        states = {i.id: i.state for i in uow.inbound.list()}
    assert states == {items[0].id: "done", items[1].id: "pending", items[2].id: "done"}
    assert (_count(database, "message"), _count(database, "outbox")) == (2, 2)


def test_an_item_that_reached_the_database_cannot_be_undone_alone(database: Database) -> None:
    with SqlUnitOfWork(database) as uow, uow.write_behind():
        with uow.savepoint():
            uow.tickets.add(_ticket("first"))  # held: a later failure could drop it
        with pytest.raises(BatchAborted, match="read after writing"), uow.savepoint():
            t = uow.tickets.add(_ticket("second"))
            uow.tickets.list()  # sends both tickets: the second is now in the database
            raise RuntimeError(f"{t.reference} failed")
    with (SqlUnitOfWork(database) as uow, uow.write_behind(),
          pytest.raises(BatchAborted, match="wrote directly"), uow.savepoint()):
        uow.session.execute(text("DELETE FROM reminder_replan"))
        raise RuntimeError("failed after a write of its own")
    # a read that sees nothing held costs nothing and spoils nothing
    with SqlUnitOfWork(database) as uow, uow.write_behind():
        with pytest.raises(RuntimeError), uow.savepoint():
            uow.tickets.add(_ticket("third"))
            uow.clients.list()
            raise RuntimeError("undone alone")
        uow.commit()
    assert _count(database, "ticket") == 0


def test_a_refused_write_aborts_the_batch_as_a_whole(database: Database) -> None:
    with SqlUnitOfWork(database) as uow:
        uow.outbox.add(_mail("<taken@x>", "jo@acme.example", None), at=T0)
        uow.commit()
    with (SqlUnitOfWork(database) as uow,
          pytest.raises(BatchAborted, match="queued before"), uow.write_behind()):
        uow.outbox.add(_mail("<taken@x>", "jo@acme.example", None), at=T0)
    assert _count(database, "outbox") == 1


def test_ticket_ids_follow_on_without_gaps_unless_reserved(database: Database) -> None:
    ids = []
    for _ in range(2):
        with SqlUnitOfWork(database) as uow:
            with uow.write_behind():
                ids += [uow.tickets.add(_ticket(f"t{len(ids)}")).id for _ in range(3)]
            uow.commit()
    assert ids == list(range(ids[0], ids[0] + 6))
    with SqlUnitOfWork(database) as uow:
        with uow.write_behind():
            uow.tickets.reserve(5)
            more = [uow.tickets.add(_ticket("r")).id for _ in range(2)]
        uow.commit()
    assert more == [ids[-1] + 1, ids[-1] + 2]
    with SqlUnitOfWork(database) as uow:
        with uow.write_behind():
            last = uow.tickets.add(_ticket("after")).id
        uow.commit()
    assert last is not None and last > more[-1]  # PostgreSQL skipped the 3 reserved, unused


def _history(uow: SqlUnitOfWork, seed: int, tickets: list[int], mids: list[str],
             people: list[str]) -> list[object]:
    """A random mix of writes and lookups; returns the lookups' answers."""
    rng = random.Random(seed)
    bodies = [b"0", b"1", b"2"]
    since = T0 - timedelta(hours=1)
    answers: list[object] = []
    for step in range(60):
        mid = rng.choice(mids)
        kind = rng.choice(["find", "thread", "count", "add", "send", "get"])
        if kind == "add":
            bodies.append(f"n{step}".encode())
            uow.messages.add(_message(mid, rng.choice(tickets), body=bodies[-1]))
        elif kind == "send":
            out = rng.choice([f"<new{step}@x>", f"<out{rng.randrange(4)}@x>", mid])
            sent = uow.outbox.add(_mail(out, rng.choice(people), rng.choice(tickets)), at=T0)
            answers.append(("sent", sent))
        elif kind == "find":
            found = uow.messages.find(mid, _message(mid, None, rng.choice(bodies)).content_hash)
            answers.append(("find", mid, found and (found.ticket_id, found.raw)))
        elif kind == "thread":
            keys = rng.sample(mids + [f"<out{i}@x>" for i in range(4)], 3)
            answers.append(("thread", keys, uow.messages.ticket_of(keys)))
        elif kind == "count":
            who = rng.choice(people)
            answers.append(("count", who, uow.outbox.count_since(who, ["ack"], since)))
        else:
            t = uow.tickets.get(rng.choice(tickets), for_update=True)
            assert t is not None
            if rng.random() < 0.5:  # the projection changes, or only the log grows
                t.assign(rng.choice(people), actor="x", now=T0)
            t.note(f"step {step}", actor="x", now=T0)
            uow.tickets.save(t)
            answers.append(("get", t.id, t.assignee, len(t.events)))
    return answers


def test_preloaded_lookups_answer_as_the_database_does(database: Database) -> None:
    """The same random history of writes and lookups, once in plain mode and once held back
    with every ``preload`` hint given, gets the same answers at every step."""
    rng = random.Random(20261122)
    mids = [f"<{i}@x>" for i in range(10)]
    people = ["a@acme.example", "b@acme.example", "c@acme.example"]
    with SqlUnitOfWork(database) as uow:  # a stored past
        tickets = [uow.tickets.add(_ticket(f"old {i}")).id for i in range(4)]
        for i, mid in enumerate(mids[:5]):
            uow.messages.add(_message(mid, rng.choice(tickets), body=f"{i}".encode()))
        for i, who in enumerate(people * 2):
            uow.outbox.add(_mail(f"<old-ack{i}@x>", who, rng.choice(tickets)),
                           at=T0 - timedelta(minutes=25 * i))
        uow.commit()
    ids = [t for t in tickets if t is not None]
    for seed in range(3):
        with SqlUnitOfWork(database) as uow:  # rolled back
            plain = _history(uow, seed, ids, mids, people)
        with SqlUnitOfWork(database) as uow, uow.write_behind():
            uow.messages.preload([(m, "h") for m in mids],
                                 mids + [f"<out{i}@x>" for i in range(4)])
            uow.outbox.preload_counts(people, T0 - timedelta(hours=2))
            uow.tickets.preload(ids, for_update=True)
            held = _history(uow, seed, ids, mids, people)
        assert held == plain
        assert {a[0] for a in plain} >= {"find", "thread", "count", "get", "sent"}
    assert _count(database, "ticket") == 4  # both runs were rolled back
