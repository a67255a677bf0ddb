"""Benchmark: a biweekly SLA report over 1,000,000 stored tickets, on SQLite and PostgreSQL.

    .venv/bin/python bench/report_bench.py                     # both backends, 1,000,000 tickets
    .venv/bin/python bench/report_bench.py --backend sqlite --tickets 200000
    .venv/bin/python bench/report_bench.py --backend postgresql --pg-url postgresql://...

Data (seeded, identical on every run): ``--tickets`` tickets of 24 clients with Zipf-like sizes
(the largest has about a quarter of them) spread over 2017-01-02 .. 2026-11-20, registered in
and around office hours; P1 5%, P2 20%, P3 45%, P4 30%; a response on most, the cause confirmed
on 60%, resolution, time logged on half, closed a week after resolution (3% are never
answered and closed after two weeks). Tickets of the last
weeks are partly still open, and 0.2% of all are resolved and never closed (they stay candidates
for every report). About 5.5 events per ticket. Seeded with bulk Core inserts
(``insert().values`` executemany, 20,000 tickets a transaction), then ``ANALYZE``.

Measured, for the largest client (``--client``), at "now" = Fri 2026-11-20 12:00 UTC:

- report: ``Reporting.report(client, "previous")``, the CLI's path: the two indexed queries
  for the period's tickets, their events in bulk, the computation; then all four renderings.
  The first run is shown separately (cold caches: the calendar's table, the database's pages);
  then the median and best of ``--repeat`` runs.
- an old period (five years back): the same, to show what the (client, updated_at) index costs
  for periods far from now.
- peer, naive: the same tickets loaded the way a first version would, one ORM
  ``tickets.get(id)`` per ticket (N+1 queries), then the same computation.

Prints figures and ratios only; no assertions on timings; exit code 0.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, or_, text
from sqlmodel import col, select

from adapters.storage import Database, SqlUnitOfWork
from adapters.storage.tables import ClientRow, EventRow, TicketRow
from bot.clock import ManualClock
from bot.policies import PolicyBook
from bot.reports import compute_report, render
from bot.reports.service import Reporting
from bot.sla import load_policy

TARGET_S = 2.0
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
FIRST_DAY = datetime(2017, 1, 2, tzinfo=UTC)
CLIENTS = 24
BATCH = 20_000
PRIORITIES = (("P1", 0.05), ("P2", 0.20), ("P3", 0.45), ("P4", 0.30))


def client_weights() -> list[float]:
    w = [1 / (k ** 1.1) for k in range(1, CLIENTS + 1)]
    total = sum(w)
    return [x / total for x in w]


def _ticket_rows(rng: random.Random, tid: int, client_id: int,
                 span_minutes: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    # a working day, 07:00-19:00 UTC (08:00-20:00 in Brussels in winter)
    day = FIRST_DAY + timedelta(days=rng.randrange(span_minutes // 1440))
    while day.weekday() >= 5:
        day -= timedelta(days=2)
    reg = day + timedelta(minutes=7 * 60 + rng.randrange(12 * 60))
    if reg >= NOW:
        reg = NOW - timedelta(hours=1 + rng.randrange(100))
    prio = rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]
    ev = [("registered", reg, {"channel": "email"}), ("priority_set", reg, {"priority": prio})]
    status = "new"
    t = reg + timedelta(minutes=int(rng.expovariate(1 / 150)) + 1)
    if t < NOW and rng.random() < 0.97:
        ev.append(("responded", t, {}))
        status = "open"
        if rng.random() < 0.6:
            t += timedelta(minutes=rng.randrange(5, 600))
            if t < NOW:
                ev.append(("cause_confirmed", t, {}))
        t += timedelta(minutes=int(rng.expovariate(1 / 2500)) + 10)
        if rng.random() < 0.5 and t < NOW:
            ev.append(("time_logged", t - timedelta(minutes=5),
                       {"hours": rng.choice([0.5, 1.0, 2.5]), "priority": prio}))
        if t < NOW:
            ev.append(("resolved", t, {}))
            status = "resolved"
            t += timedelta(days=7)
            if t < NOW and rng.random() > 0.002:
                ev.append(("closed", t, {}))
                status = "closed"
    elif t + timedelta(days=14) < NOW:  # never answered (spam, a duplicate): closed later
        ev.append(("closed", t + timedelta(days=14), {"note": "no answer needed"}))
        status = "closed"
    ticket = {"id": tid, "client_id": client_id, "policy": "panenco", "kind": "incident",
              "subject": f"incident {tid}", "body": "", "priority": prio, "channel": "email",
              "status": status, "requester": None, "assignee": None, "created_at": reg,
              "updated_at": max(at for _, at, _ in ev)}
    events = [{"ticket_id": tid, "kind": k, "at": at, "actor": "bench", "data": d}
              for k, at, d in ev]
    return ticket, events


def seed(db: Database, n: int, seed_value: int) -> tuple[int, float]:
    """Insert ``n`` tickets with their events; returns (events, seconds)."""
    rng = random.Random(seed_value)
    t0 = time.perf_counter()
    with db.write_engine.begin() as conn:
        conn.execute(insert(ClientRow.__table__), [  # type: ignore[arg-type]
            {"id": k, "name": f"client{k:02d}", "policy": "panenco", "email_domains": [],
             "emails": [], "phones": [], "slack_channels": [], "invoice_amount": 10_000.0,
             "currency": "EUR", "default_priority": None} for k in range(1, CLIENTS + 1)])
    weights = client_weights()
    span = int((NOW - FIRST_DAY).total_seconds() // 60)
    events = 0
    for lo in range(1, n + 1, BATCH):
        tickets, evs = [], []
        for tid in range(lo, min(n + 1, lo + BATCH)):
            client = rng.choices(range(1, CLIENTS + 1), weights)[0]
            t, e = _ticket_rows(rng, tid, client, span)
            tickets.append(t)
            evs += e
        with db.write_engine.begin() as conn:
            conn.execute(insert(TicketRow.__table__), tickets)  # type: ignore[arg-type]
            conn.execute(insert(EventRow.__table__), evs)  # type: ignore[arg-type]
        events += len(evs)
        print(f"\r  seeded {min(n, lo + BATCH - 1):,} tickets, {events:,} events", end="",
              flush=True)
    with db.write_engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print()
    return events, time.perf_counter() - t0


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def naive_report(db: Database, client: str, reporting: Reporting) -> Any:
    """Peer: find the same tickets, then load each with its own ORM query (N+1)."""
    policy = load_policy("panenco")
    with SqlUnitOfWork(db, write=False) as uow:
        c = uow.clients.get(client)
        assert c is not None and c.id is not None
        p = reporting.period(policy, "previous")
        tz = policy.calendar.tz
        ids = list(uow.session.exec(select(TicketRow.id).where(
            TicketRow.client_id == c.id, col(TicketRow.created_at) < p.end_at(tz),
            or_(col(TicketRow.updated_at) >= p.start_at(tz), TicketRow.status != "closed"))))
        tickets = [uow.tickets.get(i) for i in ids]
    return compute_report(policy, c, p, [t for t in tickets if t is not None], NOW)


def measure(db: Database, label: str, client: str, repeat: int) -> None:
    clock = ManualClock(NOW)
    reporting = Reporting(lambda: SqlUnitOfWork(db, write=False), clock, PolicyBook("panenco"))

    def full() -> Any:
        r = reporting.report(client, "previous")
        for fmt in ("md", "html", "csv", "json"):
            render(r, fmt)
        return r

    cold, r = timed(full)
    runs = [timed(full)[0] for _ in range(repeat)]
    tz = load_policy("panenco").calendar.tz
    start, end = r.period.start_at(tz), r.period.end_at(tz)

    def load_only() -> Any:
        with SqlUnitOfWork(db, write=False) as uow:
            c = uow.clients.get(client)
            assert c is not None and c.id is not None
            return uow.reports.period_tickets(c.id, start, end)

    load = [timed(load_only)[0] for _ in range(repeat)]
    compute = [timed(lambda: reporting.report(client, "previous"))[0] for _ in range(repeat)]
    old_clock = ManualClock(NOW - timedelta(days=5 * 365))
    old = Reporting(lambda: SqlUnitOfWork(db, write=False), old_clock, PolicyBook("panenco"))
    old_runs = [timed(lambda: old.report(client, "previous"))[0] for _ in range(repeat)]
    naive_s, naive_r = timed(lambda: naive_report(db, client, reporting))
    same = render(naive_r, "json") == render(r, "json")
    med = statistics.median(runs)
    counted = sum(c.total for p in r.priorities for c in p.clocks.values())
    print(f"\n[{label}] client {client}, period {r.period} (previous sprint at {NOW:%Y-%m-%d})")
    print(f"  tickets in the report: {len(r.tickets)}, clocks counted: {counted}, "
          f"breaches: {len(r.breaches)}")
    print(f"  report + 4 renderings: cold {cold:.3f} s; median {med:.3f} s, best "
          f"{min(runs):.3f} s of {repeat}  -> target < {TARGET_S:.1f} s: "
          f"{'MET' if med < TARGET_S else 'NOT MET'}")
    print(f"    of which the bulk load (2 queries + events): median "
          f"{statistics.median(load):.3f} s; report without rendering: median "
          f"{statistics.median(compute):.3f} s")
    print(f"  an old period (five years back): median {statistics.median(old_runs):.3f} s")
    print(f"  peer, naive N+1 ORM load per ticket + same computation: {naive_s:.3f} s "
          f"({naive_s / statistics.median(compute):.1f}x the bulk report; same JSON: {same})")


def open_db(backend: str, pg_url: str, tmp: Path) -> Database:
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp / 'report_bench.db'}")
    else:
        db = Database(pg_url, schema=f"report_bench_{uuid.uuid4().hex[:8]}")
    db.upgrade()
    return db


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--pg-url", default=DEFAULT_PG)
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--client", default="client01")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                db = open_db(backend, args.pg_url, Path(tmp))
            except Exception as e:  # a benchmark reports and goes on
                print(f"[{backend}] not available: {e}")
                continue
            try:
                print(f"[{backend}] seeding {args.tickets:,} tickets ...")
                events, secs = seed(db, args.tickets, args.seed)
                print(f"[{backend}] seeded {args.tickets:,} tickets and {events:,} events in "
                      f"{secs:.0f} s ({(args.tickets + events) / secs:,.0f} rows/s)")
                measure(db, backend, args.client, args.repeat)
            finally:
                db.drop_schema()
                db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
