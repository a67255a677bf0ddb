"""SQLite's writers in one process take turns in arrival order (the intake worker going
through a backlog must not starve the inbound writer that SMTP clients wait on)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from adapters.storage import Database
from adapters.storage.writelock import FairLock, write_lock


def _until(cond: Callable[[], bool]) -> None:
    event = threading.Event()
    while not cond():
        event.wait(0.001)


def test_waiting_threads_get_the_lock_in_the_order_they_asked() -> None:
    lock = FairLock()
    order: list[str] = []

    def take(name: str) -> None:
        assert lock.acquire()
        order.append(name)
        lock.release()

    assert lock.acquire()
    threads = []
    for i, name in enumerate(["first", "second", "third"]):
        t = threading.Thread(target=take, args=(name,))
        t.start()
        threads.append(t)
        _until(lambda i=i: lock.queued == i + 1)  # type: ignore[misc]
    lock.release()
    for t in threads:
        t.join()
    assert order == ["first", "second", "third"]


def test_the_holder_may_take_it_again_and_a_waiter_that_gives_up_blocks_nobody() -> None:
    lock = FairLock()
    assert lock.acquire() and lock.acquire()  # nested write transactions in one thread
    lock.release()
    gave_up: list[bool] = []
    t = threading.Thread(target=lambda: gave_up.append(lock.acquire(timeout=0.01)))
    t.start()
    t.join()
    assert gave_up == [False]
    lock.release()
    later: list[bool] = []
    t = threading.Thread(target=lambda: later.append(lock.acquire(timeout=5)))
    t.start()
    t.join()
    assert later == [True] and lock.queued == 0


def test_only_sqlite_databases_have_one(database: Database) -> None:
    lock = write_lock(database)
    if database.dialect == "sqlite":
        assert lock is not None and write_lock(database) is lock
    else:
        assert lock is None
