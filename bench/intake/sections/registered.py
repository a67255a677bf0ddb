"""Section 2: from the 250 to registered, 8 clients with the processing worker running."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.intake.clients import Clients
from bench.intake.figures import Row, measure_level, pct
from bench.intake.messages import SUPPORT
from bench.intake.profiling import CommitTimer, ThreadSampler
from bench.intake.sections.backlog import ticket_refs
from bench.intake.server import Db, LoopThread, serve


def to_utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def section2(db: Db, clients: Clients, lt: LoopThread, messages: int, seed: int,
             profile: bool) -> tuple[Row, list[tuple[str, str]], Callable[[], None]]:
    from sqlmodel import col, select

    from adapters.mail.smtp import SupportHandler
    from adapters.mail.worker import IntakeWorker
    from adapters.storage.tables import InboundRow

    committed: dict[int, float] = {}
    lock = threading.Lock()

    def after(outcome: Any) -> None:
        t = time.time()
        with lock:
            committed[outcome.inbound_id] = t

    worker = IntakeWorker(db.app.mail, sweep_seconds=5.0, after=after)
    worker.start()
    db.store.on_stored = worker.notify
    intake = serve(lt, SupportHandler(db.store, [SUPPORT]))
    sampler = ThreadSampler(["smtp-loop", "inbound-writer", "intake"]) if profile else None
    timer = CommitTimer(db.store) if profile else None
    try:
        with sampler or contextlib.nullcontext():
            row = measure_level(clients, intake.port, 8, messages, "worker", seed, db.store)
        if timer:
            timer.close()
        t_accepted = time.time()
        ids = {i for i, _ in row.res.replies if i is not None}
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with lock:
                if ids <= committed.keys():
                    break
            time.sleep(0.05)
        t_drained = time.time()
    finally:
        lt.run(intake.stop())
        db.store.on_stored = None
        worker.stop()
    processed: dict[int, tuple[datetime | None, str]] = {}
    id_list = sorted(ids)
    with db.app.db.session() as s:
        for k in range(0, len(id_list), 500):
            q = select(InboundRow.id, InboundRow.processed_at, InboundRow.state).where(
                col(InboundRow.id).in_(id_list[k:k + 500]))
            for i, at, state in s.exec(q):
                processed[i] = (to_utc(at), state)
        refs = ticket_refs(s, 300)
    start_lat, commit_lat = [], []
    states: Counter[str] = Counter()
    for i, t250 in row.res.replies:
        if i is None or i not in processed:
            continue
        at, state = processed[i]
        states[state] += 1
        if at is not None:
            start_lat.append(at.timestamp() - t250)
        if i in committed:
            commit_lat.append(committed[i] - t250)

    def report() -> None:
        n = len(row.res.replies)
        print(f"\n  {n} messages accepted by 8 clients in {row.res.wall:.2f} s "
              f"({row.rate:,.0f}/s); all registered {t_drained - t_accepted:.2f} s after the last "
              f"250; outcomes: {dict(states)}")
        print(f"  worker batches cut short to let a waiting writer in (SQLite): "
              f"{db.app.mail.batches_cut_short}")
        print(f"  {'from the 250 to':<52}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
        for label, xs in (("processed_at (worker starts on the message)", start_lat),
                          ("committed (worker's after-callback)", commit_lat)):
            print(f"  {label:<52}{1000 * pct(xs, 0.5):>10,.1f}{1000 * pct(xs, 0.99):>10,.1f}"
                  f"{1000 * max(xs, default=float('nan')):>10,.1f}")
        negative = sum(x < 0 for x in start_lat)
        if negative:
            print(f"  ({negative} processed_at before the client read the 250: the worker is "
                  "told at commit, in parallel with the reply)")
        if sampler is not None and timer is not None:
            print("\n  profile: server threads while the 8 clients sent (worker running; 1 ms "
                  "wall-clock stack samples):")
            sampler.report()
            timer.report()

    return row, refs, report
