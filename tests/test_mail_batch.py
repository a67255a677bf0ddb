"""A backlog is processed several messages per transaction, with writes held back and sent
together: a message that fails in processing is undone and counted alone while the others in
its batch commit; a write the database refuses (a real trigger refusing one subject) fails the
batch as a whole, which is then redone one message per transaction. Both storage backends."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta

import pytest
from sqlalchemy import text

from adapters.mail.batch import MIN_BEFORE_YIELD
from adapters.mail.worker import IntakeWorker
from adapters.storage import Database, SqlUnitOfWork
from adapters.storage.writelock import write_lock
from bot.mail.intake import MAX_ATTEMPTS, Outcome
from bot.model import Event, id_of_reference
from tests.mailbot import Bot, mail, reply_to

POISON = "poison pill"


@pytest.fixture
def refusing(database: Database) -> Iterator[None]:
    """The database refuses to store any message whose subject is ``POISON``."""
    if database.dialect == "sqlite":
        create = [f"""CREATE TRIGGER refuse_poison BEFORE INSERT ON message
                      WHEN NEW.subject = '{POISON}'
                      BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"""]
        drop = ["DROP TRIGGER refuse_poison"]
    else:
        create = [f"""CREATE FUNCTION refuse_poison() RETURNS trigger AS $$
                      BEGIN
                        IF NEW.subject = '{POISON}' THEN
                          RAISE EXCEPTION 'refused by a test trigger';
                        END IF;
                        RETURN NEW;
                      END $$ LANGUAGE plpgsql""",
                  """CREATE TRIGGER refuse_poison BEFORE INSERT ON message
                     FOR EACH ROW EXECUTE FUNCTION refuse_poison()"""]
        drop = ["DROP TRIGGER refuse_poison ON message", "DROP FUNCTION refuse_poison()"]
    with database.write_engine.begin() as conn:
        for sql in create:
            conn.execute(text(sql))
    yield
    with database.write_engine.begin() as conn:
        for sql in drop:
            conn.execute(text(sql))


def exploding(uow: object, view: object, events: Sequence[Event]) -> None:
    """A Helpdesk listener (a plug-in port) with a bug: it raises on one word, after the
    intake has written the message, its events and its ticket changes."""
    if any("EXPLODE" in str(e.data.get("text", "")) for e in events):
        raise RuntimeError("a listener bug")


def test_a_message_failing_in_processing_is_undone_alone_and_its_batch_commits(
        make_bot) -> None:  # type: ignore[no-untyped-def]
    bot: Bot = make_bot()
    bot.app.helpdesk.listeners.append(exploding)
    first = mail("ann@acme.example", "Checkout down", "Nothing works since this morning.")
    bot.send(first)
    bot.send(reply_to(first, "ann@acme.example", "EXPLODE please"))
    bot.send(reply_to(first, "bob@acme.example", "Same here, all our shops."))
    bot.send(mail("cy@acme.example", "Invoice export empty", "The export is empty."))

    outcomes = bot.process()
    assert [o.state for o in outcomes] == ["done", "pending", "done", "done"]
    assert "a listener bug" in outcomes[1].action
    assert bot.app.mail.batches_redone == 0  # one transaction: the others were not redone
    assert outcomes[2].action == "follow-up" and outcomes[2].reference == outcomes[0].reference
    with SqlUnitOfWork(bot.app.db, write=False) as uow:
        t = uow.tickets.get(id_of_reference(outcomes[0].reference or ""))
        failed = uow.inbound.get(outcomes[1].inbound_id)
        stored = uow.messages.for_ticket(t.id)  # type: ignore[union-attr, arg-type]
    assert t is not None and failed is not None and failed.attempts == 1
    # the failed reply left nothing: no event, no stored message; the later reply threaded
    received = [e.data["text"] for e in t.events if e.kind.value == "message_received"]
    assert received == ["Same here, all our shops."] and len(stored) == 2
    assert {m["To"] for m in bot.deliver()} == {"ann@acme.example", "cy@acme.example"}


def test_a_write_the_database_refuses_fails_the_batch_which_is_redone_one_by_one(
        make_bot, refusing: None) -> None:  # type: ignore[no-untyped-def]
    bot: Bot = make_bot()
    subjects = ["Checkout down", POISON, "Invoice export empty", "Cannot log in"]
    for i, subject in enumerate(subjects):
        bot.send(mail(f"user{i}@acme.example", subject, "Nothing works since this morning."))
    assert bot.app.mail.batch_size >= len(subjects)  # all four share one transaction

    outcomes = bot.process()
    assert [o.state for o in outcomes] == ["done", "pending", "done", "done"]
    assert "refused by a test trigger" in outcomes[1].action
    assert bot.app.mail.batches_redone == 1
    with SqlUnitOfWork(bot.app.db, write=False) as uow:
        tickets = uow.tickets.list()
        failed = uow.inbound.get(outcomes[1].inbound_id)
    # the poison's ticket, events and acknowledgement went with its transaction
    assert sorted(t.subject for t in tickets) == sorted(s for s in subjects if s != POISON)
    assert failed is not None and failed.attempts == 1 and "attempt 1" in failed.reason
    assert {m["To"] for m in bot.deliver()} == {"user0@acme.example", "user2@acme.example",
                                               "user3@acme.example"}

    assert bot.process() == []  # it waits out its backoff: an outage does not use it up
    for _ in range(MAX_ATTEMPTS - 1):  # retried after each backoff, then quarantined
        bot.clock.advance(timedelta(hours=1))
        again = bot.process()
    assert [(o.inbound_id, o.state) for o in again] == [(outcomes[1].inbound_id, "quarantined")]
    assert bot.process() == []


def test_when_storage_fails_for_the_whole_batch_each_message_is_counted_none_lost(
        make_bot, database: Database) -> None:  # type: ignore[no-untyped-def]
    bot: Bot = make_bot()
    for i in range(3):
        bot.send(mail(f"user{i}@acme.example", f"Report {i}", "Nothing works."))
    with SqlUnitOfWork(bot.app.db, write=False) as uow:
        items = uow.inbound.pending()
    with database.write_engine.begin() as conn:  # storage breaks for real: no message table
        conn.execute(text("ALTER TABLE message RENAME TO message_away"))
    outcomes = bot.app.mail.process_batch(items)
    assert [o.state for o in outcomes] == ["pending"] * 3  # each counted, none lost
    with database.write_engine.begin() as conn:
        conn.execute(text("ALTER TABLE message_away RENAME TO message"))
    assert bot.process() == []  # each waits out its backoff
    bot.clock.advance(timedelta(minutes=1))
    assert [o.state for o in bot.process()] == ["done"] * 3


def test_the_worker_takes_what_was_stored_meanwhile_in_batches(make_bot) -> None:  # type: ignore[no-untyped-def]
    bot: Bot = make_bot()
    done: list[Outcome] = []
    finished = threading.Event()

    def after(outcome: Outcome) -> None:
        done.append(outcome)
        if len(done) == 12:
            finished.set()

    for i in range(12):  # stored before the worker starts: its first sweep takes them
        bot.send(mail(f"user{i}@acme.example", f"Report {i}", "Nothing works."))
    worker = IntakeWorker(bot.app.mail, sweep_seconds=60, after=after)
    bot.store.on_stored = worker.notify
    worker.start()
    try:
        assert finished.wait(60)
        more = [mail(f"late{i}@acme.example", f"Late {i}", "Down.") for i in range(5)]
        for m in more:  # told of each at once: processed without waiting for a sweep
            bot.send(m)
        _wait_for(lambda: len(done) == 17)
    finally:
        worker.stop()
        bot.store.on_stored = None
    assert sorted(o.inbound_id for o in done) == list(range(1, 18))
    assert {o.state for o in done} == {"done"} and bot.process() == []


def _wait_for(cond: Callable[[], bool], seconds: float = 60) -> None:
    tick = threading.Event()
    for _ in range(int(seconds * 100)):
        if cond():
            return
        tick.wait(0.01)
    raise AssertionError("the worker did not get there")


def test_a_batch_reads_its_messages_again_so_work_done_meanwhile_is_not_redone(
        make_bot) -> None:  # type: ignore[no-untyped-def]
    """The rows of a batch are read again (in one statement) inside its transaction: a message
    another processor finished after the batch was listed is left as that processor left it."""
    bot: Bot = make_bot()
    for i in range(4):
        bot.send(mail(f"user{i}@acme.example", f"Report {i}", "Nothing works."))
    with SqlUnitOfWork(bot.app.db, write=False) as uow:
        stale = uow.inbound.pending()
        assert set(uow.inbound.get_many([i.id for i in stale] + [999])) == {i.id for i in stale}
    first = bot.app.mail.process(stale[1].id)  # another processor, meanwhile
    outcomes = bot.app.mail.process_batch(stale)
    assert [o.state for o in outcomes] == ["done"] * 4
    assert outcomes[1].action == "already processed"
    assert outcomes[1].reference == first.reference
    with SqlUnitOfWork(bot.app.db, write=False) as uow:
        assert len(uow.tickets.list()) == 4
    assert len(bot.deliver()) == 4


def test_a_batch_gives_way_to_a_waiting_writer_and_nothing_is_left_behind(
        make_bot) -> None:  # type: ignore[no-untyped-def]
    bot: Bot = make_bot()
    least = MIN_BEFORE_YIELD  # what a batch does before it gives way
    for i in range(2 * least + 3):
        bot.send(mail(f"user{i}@acme.example", f"Report {i}", "Nothing works."))
    with SqlUnitOfWork(bot.app.db, write=False) as uow:
        items = uow.inbound.pending()
    bot.app.mail.yield_to = lambda: True  # another writer is always waiting
    first = bot.app.mail.process_batch(items)
    # committed what it did, then gave way
    assert [o.inbound_id for o in first] == [i.id for i in items[:least]]
    assert bot.app.mail.batches_cut_short == 1
    with SqlUnitOfWork(bot.app.db, write=False) as uow:
        assert [i.id for i in uow.inbound.pending()] == [i.id for i in items[least:]]
    rest = bot.process()  # each batch starts where the last stopped
    assert [o.inbound_id for o in rest] == [i.id for i in items[least:]]
    assert bot.app.mail.batches_cut_short == 2  # 8 of the 11 left, then the last 3
    assert {o.state for o in rest} == {"done"} and bot.process() == []

    done: list[Outcome] = []
    worker = IntakeWorker(bot.app.mail, sweep_seconds=60, after=done.append)
    bot.store.on_stored = worker.notify
    worker.start()
    try:  # the worker, told of each message, processes them all without a sweep
        for i in range(6):
            bot.send(mail(f"later{i}@acme.example", f"Later {i}", "Down."))
        _wait_for(lambda: len(done) == 6)
    finally:
        worker.stop()
        bot.store.on_stored = None
    assert sorted(o.inbound_id for o in done) == list(range(len(items) + 1, len(items) + 7))


def test_on_sqlite_a_batch_gives_way_when_another_thread_waits_for_the_write_lock(
        make_bot, database: Database) -> None:  # type: ignore[no-untyped-def]
    bot: Bot = make_bot()
    lock = write_lock(bot.app.db)
    if database.dialect != "sqlite":  # PostgreSQL writers do not wait for one another
        assert lock is None and bot.app.mail.yield_to is None
        return
    assert lock is not None and bot.app.mail.yield_to is not None
    waiting = threading.Event()
    with SqlUnitOfWork(bot.app.db):  # this thread holds the write turn
        assert not bot.app.mail.yield_to()

        def writer() -> None:
            waiting.set()
            if lock.acquire():
                lock.release()

        t = threading.Thread(target=writer)
        t.start()
        waiting.wait(10)
        _wait_for(lambda: lock.queued == 1, 10)
        assert bot.app.mail.yield_to()
    t.join(10)
    assert not bot.app.mail.yield_to()
