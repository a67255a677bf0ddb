"""Benchmark of the staff dashboard's queue page with 10,000 open tickets and of ``/metrics``
with 100,000, each against the naive way, in the same run.

    .venv/bin/python bench/dashboard_bench.py [--queue-tickets N] [--metrics-tickets M]
                                             [--requests R] [--backend sqlite|postgresql]
                                             [--pg-url URL] [--seed S]

Seeding: bulk inserts (no ORM) of open tickets of two clients on the ``panenco`` policy (office
hours, holidays), registered over the last 30 working days, each with its ``registered`` and
classifier ``priority_set`` events; a third responded, a sixth with the cause confirmed, a
tenth paused: running, met, paused, breached and not started clocks.

- queue: ``GET /staff/`` over HTTP from a signed-in session on the dashboard served by
  uvicorn in this process (``OpenTickets`` snapshots ranked at now, the 200 rows shown derived
  again and rendered), R requests after one warm-up; then R requests with one ticket changed
  before each (a refresh from the event log). Naive way: what the page did first, in-process
  (no HTTP, which favours it): ``Helpdesk.list`` of every open ticket (ORM, clocks derived),
  ``build_queue``, the same template.
- metrics: ``storage_metrics`` (what ``/metrics`` serves from storage) with ``OpenTickets``,
  R scrapes after the first (cold) one, and with one change before each; naive way: every open
  ticket loaded and derived per scrape (``Helpdesk.list``, as before), 3 scrapes.

Targets: queue p95 under 200 ms, metrics under 200 ms. Prints figures; never asserts; exit 0.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import insert, text

from adapters.storage import Database, SqlUnitOfWork, UnitOfWorks
from adapters.storage.tables import EventRow, TicketRow
from bot.clock import ManualClock
from bot.model import Client, Staff, reference_of
from bot.policies import PolicyBook
from bot.services import Helpdesk
from bot.views import ACTIVE

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # a Monday, 14:00 in Brussels


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] if s else float("nan")


def seed(db: Database, n: int, rng: random.Random) -> float:
    started = time.perf_counter()
    hd = Helpdesk(lambda: SqlUnitOfWork(db), ManualClock(NOW), PolicyBook("panenco"))
    hd.sync_directory([Client("acme", "panenco", ("acme.example",)),
                       Client("globex", "panenco", ("globex.example",))],
                      [Staff("alice"), Staff("bob")])
    with db.session() as s:
        ids = dict(s.exec(text("SELECT name, id FROM client")).all())  # type: ignore[call-overload]
    tickets, events = [], []
    for i in range(1, n + 1):
        at = NOW - timedelta(minutes=rng.uniform(5, 60 * 24 * 42))
        prio = rng.choice(("P1", "P2", "P3", "P3", "P4", "P4"))
        client = rng.choice(("acme", "globex"))
        status = "paused" if i % 10 == 0 else "open" if i % 3 == 1 else "new"
        tickets.append({"id": i, "client_id": ids[client], "policy": "panenco",
                        "kind": "incident", "subject": f"ticket {i}: something is wrong",
                        "body": "", "priority": prio, "channel": "email", "status": status,
                        "requester": f"user{i}@{client}.example",
                        "assignee": rng.choice((None, "alice", "bob")),
                        "created_at": at, "updated_at": at})
        events.append({"ticket_id": i, "kind": "registered", "at": at, "actor": "system",
                       "data": {"channel": "email"}})
        events.append({"ticket_id": i, "kind": "priority_set", "at": at, "actor": "classifier",
                       "data": {"priority": prio, "confidence": 0.6,
                                "reasons": ["bench"], "rules": ["bench"]}})
        if i % 3 == 1:
            events.append({"ticket_id": i, "kind": "responded", "at": at + timedelta(minutes=3),
                           "actor": "alice", "data": {}})
        if i % 6 == 1:
            events.append({"ticket_id": i, "kind": "cause_confirmed",
                           "at": at + timedelta(minutes=4), "actor": "alice", "data": {}})
        if i % 10 == 0:
            events.append({"ticket_id": i, "kind": "paused", "at": at + timedelta(minutes=2),
                           "actor": "alice", "data": {"reason": "waiting"}})
    with db.write_engine.begin() as conn:
        for rows, table in ((tickets, TicketRow.__table__), (events, EventRow.__table__)):  # type: ignore[attr-defined]
            for k in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[k:k + 5000])
        if db.dialect == "postgresql":
            for t in ("ticket", "event"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                                  f"(SELECT max(id) FROM {t}))"))
    return time.perf_counter() - started


def timed(f: Callable[[], object]) -> float:
    t = time.perf_counter()
    f()
    return (time.perf_counter() - t) * 1000


def change_one(hd: Helpdesk, n: int, rng: random.Random) -> None:
    hd.note(reference_of(rng.randrange(1, n + 1)), "bench note", actor="bench")


def bench_queue(db: Database, n: int, requests: int, rng: random.Random) -> None:
    import uvicorn
    from starlette.applications import Starlette

    from adapters.storage.staff_accounts import StaffAccounts
    from adapters.web.dashboard import DashboardComponent, templates
    from adapters.web.dashboard.auth import hash_password
    from adapters.web.dashboard.present import queue_line
    from bot.queue import build_queue
    from config.dashboard import DashboardSettings
    from tests.dashboard_site import csrf_of
    from tests.procs import free_port

    clock = ManualClock(NOW)
    hd = Helpdesk(lambda: SqlUnitOfWork(db), clock, PolicyBook("panenco"))
    StaffAccounts(db).set_password("alice", hash_password("bench password"), at=NOW)
    settings = DashboardSettings(enabled=True, session_secret="b" * 40, secure_cookies=False)
    dash = DashboardComponent(db, UnitOfWorks(db), hd, settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=list(dash.routes())),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    base = f"http://127.0.0.1:{port}/staff"
    with httpx.Client(timeout=120) as http:
        form = http.get(f"{base}/login")
        http.post(f"{base}/login", data={"csrf": csrf_of(form.text), "name": "alice",
                                         "password": "bench password", "next": "/staff/"})
        cold = timed(lambda: http.get(f"{base}/").raise_for_status())
        warm = [timed(lambda: http.get(f"{base}/").raise_for_status()) for _ in range(requests)]
        changed = []
        for _ in range(requests):
            change_one(hd, n, rng)
            changed.append(timed(lambda: http.get(f"{base}/").raise_for_status()))
        page = http.get(f"{base}/").text
    server.should_exit = True
    thread.join(30)
    env = templates()

    def naive() -> None:
        q = build_queue(hd.list(statuses=ACTIVE, limit=10_000_000), clock.now(), limit=200)
        env.get_template("_rows.html").render(queue=q, lines=[queue_line(e) for e in q.entries],
                                              root="/staff")
    naive_ms = [timed(naive) for _ in range(3)]
    shown = page.count("data-ref=")
    print(f"\nqueue page, {n:,} open tickets ({shown} rows shown)")
    print(f"  first request (loads every open ticket once): {cold:8.0f} ms")
    print(f"  GET /staff/, nothing changed:  p50 {pct(warm, 50):6.1f} ms  p95 "
          f"{pct(warm, 95):6.1f} ms")
    print(f"  GET /staff/, one change before each: p50 {pct(changed, 50):6.1f} ms  p95 "
          f"{pct(changed, 95):6.1f} ms")
    print(f"  naive (Helpdesk.list + build_queue + render, in-process): median "
          f"{statistics.median(naive_ms):8.0f} ms")
    p95 = max(pct(warm, 95), pct(changed, 95))
    print(f"  ratio naive / dashboard p95: {statistics.median(naive_ms) / p95:6.1f}x;  "
          f"target p95 < 200 ms: {'MET' if p95 < 200 else 'NOT MET'}")


def bench_metrics(db: Database, n: int, requests: int, rng: random.Random) -> None:
    from adapters.web.metrics import storage_metrics
    from adapters.web.open_tickets import OpenTickets

    clock = ManualClock(NOW)
    hd = Helpdesk(lambda: SqlUnitOfWork(db), clock, PolicyBook("panenco"))
    tickets = OpenTickets(UnitOfWorks(db), clock, hd.policies)

    def scrape() -> None:
        list(storage_metrics(db, hd, clock, tickets))
    cold = timed(scrape)
    warm = [timed(scrape) for _ in range(requests)]
    changed = []
    for _ in range(requests):
        change_one(hd, n, rng)
        clock.advance(timedelta(seconds=15))
        changed.append(timed(scrape))
    naive_ms = [timed(lambda: list(storage_metrics(db, hd, clock))) for _ in range(3)]
    print(f"\n/metrics (storage part), {n:,} open tickets")
    print(f"  first scrape (loads every open ticket once): {cold:8.0f} ms")
    print(f"  scrape, nothing changed:  p50 {pct(warm, 50):6.1f} ms  p95 {pct(warm, 95):6.1f} ms")
    print(f"  scrape, one change and 15 s before each: p50 {pct(changed, 50):6.1f} ms  p95 "
          f"{pct(changed, 95):6.1f} ms")
    print(f"  naive (every open ticket loaded and derived): median "
          f"{statistics.median(naive_ms):8.0f} ms")
    p95 = max(pct(warm, 95), pct(changed, 95))
    print(f"  ratio naive / kept p95: {statistics.median(naive_ms) / p95:6.1f}x;  "
          f"target < 200 ms: {'MET' if p95 < 200 else 'NOT MET'}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queue-tickets", type=int, default=10_000)
    ap.add_argument("--metrics-tickets", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--pg-url", default=DEFAULT_PG)
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        for what, n, run in (("queue", args.queue_tickets, bench_queue),
                             ("metrics", args.metrics_tickets, bench_metrics)):
            if n <= 0:
                continue
            if args.backend == "sqlite":
                db = Database(f"sqlite:///{tmp}/{what}.db")
            else:
                db = Database(args.pg_url, schema=f"dash_bench_{uuid.uuid4().hex[:8]}")
            try:
                db.upgrade()
                print(f"seeded {n:,} open tickets ({args.backend}) in {seed(db, n, rng):.1f} s")
                run(db, n, args.requests, rng)
            finally:
                db.drop_schema()
                db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
