"""Section 3: registration throughput from a stored backlog."""

from __future__ import annotations

import contextlib
import cProfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from typing import Any

from bench.intake.messages import SUPPORT, make_backlog, small_messages
from bench.intake.profiling import StatementCounter, ThreadSampler, print_cprofile
from bench.intake.server import Db

TARGET_TICKETS_PER_S = 400.0


def seed_tickets(db: Db, seed: int, n: int = 300) -> list[tuple[str, str]]:
    """Without sections 1-2: register ``n`` reports (untimed) so the backlog's ``[T-...]``
    replies have tickets to refer to, as they would after section 2."""
    store_all(db, small_messages(n, "seed", seed))
    while db.app.mail.process_pending(limit=250):
        pass
    with db.app.db.session() as s:
        return ticket_refs(s, n)


def store_all(db: Db, items: Sequence[tuple[bytes, str]]) -> list[Future[int]]:
    """Store (raw, envelope sender) messages through the inbound writer, as the SMTP intake
    does; returns once all are committed (or failed)."""
    from adapters.mail.inbound import Accepted

    futures = [db.store.submit(Accepted(raw=raw, channel="smtp", peer="127.0.0.1",
                                        mail_from=sender, rcpt_to=(SUPPORT,)))
               for raw, sender in items]
    wait_futures(futures)
    return futures


def ticket_refs(session: Any, n: int) -> list[tuple[str, str]]:
    """(reference, requester) of the first ``n`` tickets, for ``[T-...]`` replies."""
    from sqlmodel import col, select

    from adapters.storage.tables import TicketRow
    from bot.model import reference_of

    return [(reference_of(tid), req) for tid, req in session.exec(
        select(TicketRow.id, TicketRow.requester).order_by(col(TicketRow.id)).limit(n)) if req]


def section3(db: Db, n: int, seed: int, refs: Sequence[tuple[str, str]],
             profile: bool, use_cprofile: bool) -> float:
    backlog = make_backlog(n, seed, refs)
    t0 = time.perf_counter()
    futures = store_all(db, backlog.items)
    t_store = time.perf_counter() - t0
    failed = sum(f.exception() is not None for f in futures)
    prof = cProfile.Profile() if use_cprofile else None
    sampler = ThreadSampler([threading.current_thread().name]) if profile else None
    statements = StatementCounter(db.app.db.engine) if profile else None
    outcomes: list[Any] = []
    t0 = time.perf_counter()
    with sampler or contextlib.nullcontext():
        if prof:
            prof.enable()
        while True:
            batch = db.app.mail.process_pending(limit=250)
            if not batch:
                break
            outcomes += batch
        if prof:
            prof.disable()
    secs = time.perf_counter() - t0
    if statements:
        statements.close()
    mix = ", ".join(f"{c} {k}" for k, c in backlog.kinds.most_common())
    print(f"\n  backlog: {len(backlog.items)} messages ({mix})")
    print(f"  stored through the inbound writer in {t_store:.2f} s ({failed} failed), "
          "not timed below")
    by_action: Counter[str] = Counter()
    for o in outcomes:
        if o.state == "done":
            by_action["registered" if o.action.startswith("registered") else "follow-up"] += 1
        else:
            by_action[o.state] += 1
    regs = by_action["registered"]
    print(f"  {'outcome':<26}{'count':>7}")
    for k, c in by_action.most_common():
        print(f"  {k:<26}{c:>7}")
    rate, reg_rate = len(outcomes) / secs, regs / secs
    note = " (under cProfile: slower than real)" if prof else (
        " (sampled and SQL counted: slightly slower than real)" if profile else "")
    print(f"\n  process_pending() until none pending: {secs:.2f} s for {len(outcomes)} messages"
          f"{note}")
    print(f"  {'all outcomes/s':<26}{rate:>9,.1f}")
    print(f"  {'registrations/s':<26}{reg_rate:>9,.1f}")
    print(f"  {'ms per message':<26}{1000 * secs / max(len(outcomes), 1):>9,.2f}")
    parser = db.app.mail.parser
    if parser is not None:
        print(f"  batches parsed by the parser process: {parser.parsed_here}, taken back and "
              f"parsed by the processing thread: {parser.taken_back} (counted since start)")
    met = rate >= TARGET_TICKETS_PER_S
    print(f"  target >= {TARGET_TICKETS_PER_S:.0f} tickets/s (all outcomes): "
          f"{'MET' if met else 'NOT MET'} ({rate:,.0f}/s)")
    print("  for reference (from the issue, not measured here): django-helpdesk's get_email "
          "registers 40-50 tickets/s on this machine")
    if sampler is not None and statements is not None:
        print("\n  profile of process_pending() (1 ms wall-clock stack samples):")
        sampler.report(top=15)
        statements.report(len(outcomes))
    if prof:
        print("\n  cProfile of process_pending():")
        print_cprofile(prof)
    return rate
