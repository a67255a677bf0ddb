"""Benchmark of the reminder engine with 100,000 open tickets: rebuilding the schedule at start
(time and peak memory) and the lateness of reminders firing under load.

    .venv/bin/python bench/reminder_bench.py [--tickets N] [--load K] [--backend sqlite|postgresql]
                                             [--pg-url URL] [--seed S]

Seeding: N open tickets with bulk inserts (plain multi-row INSERTs, no ORM), each with its
``registered`` and ``priority_set`` events; a third responded (response clock met) and a third
with the cause confirmed (resolution clock running), so a mix of running, met and not started
clocks. They are P3/P4 on a 24/7 bench policy with 8h targets, registered in the last hour: no
reminder is due during the run. Each measurement runs in a fresh child process, so its peak RSS
(``VmHWM``) is its own and not the seeding's.

- rebuild: ``ReminderEngine.rebuild()``: bulk reads per 5,000 tickets; a ticket where nothing
  can be due yet gets a wall-clock lower bound (no calendar work), the others are planned
  precisely (clocks derived, due reminders sent); one heap entry per ticket.
  Peer: ``Helpdesk.list(statuses=open, limit=N)``, what the interim ClockSweep did once a
  minute (ORM tickets with their events, clocks derived).
- lateness: with the N tickets planned, K more tickets (P1 and P2 with 10s/20s targets,
  reminders at 50% and at the breach) registered at random instants over the last 3 s and
  announced as a ticket action would (a re-plan request each), so 2K reminders fall due over
  the next ~20 s, a quarter of them in one burst at the same instant. The engine runs in
  APScheduler's ``AsyncIOScheduler`` exactly as in ``supportbot run`` (``ReminderLoop``); a sink
  records ``delivered - due`` per reminder, which includes the claim's commit. Peer: a bare
  ``AsyncIOScheduler`` date job per instant doing nothing (APScheduler's own lateness floor),
  same instants shape, same process, run before the engine.

Targets: rebuild under 5 s, peak memory under 300 MB, p99 lateness under 1 s. Prints figures;
never asserts; exit code 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text

from adapters.storage import Database, SqlUnitOfWork, UnitOfWorks
from adapters.storage.tables import EventRow, TicketRow

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
POLICY = """[policy]
name = "bench247"
title = "24/7 bench policy"

[calendar]
timezone = "UTC"
windows = { daily = ["00:00-24:00"] }

[clocks.response]
start = ["registered"]
stop = ["responded", "closed"]
targets = { P1 = "10s", P2 = "20s", P3 = "8h", P4 = "8h" }

[clocks.resolution]
start = ["cause_confirmed"]
stop = ["resolved", "closed"]
targets = { P1 = "30s", P2 = "60s", P3 = "40h", P4 = "120h" }

[compliance]
period = "monthly"
anchor = 2026-01-01
targets = { response = 0.9, resolution = 0.9 }

[reminders]
shares = [0.5]
breach = true

[[reminders.rules]]
priorities = ["P3", "P4"]
shares = [0.5, 0.75, 0.9]
before = ["1h"]
repeat_every = "1h"
"""


def rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ``ru_maxrss``: Linux carries that over
    from the parent across exec, so a child would report the seeding parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] if s else float("nan")


def open_db(url: str, schema: str | None) -> Database:
    return Database(url, schema=schema)


# -- seeding ---------------------------------------------------------------------------------


def seed(db: Database, n: int, now: datetime, rng: random.Random) -> float:
    started = time.perf_counter()
    tickets, events = [], []
    for i in range(1, n + 1):
        at = now - timedelta(seconds=rng.uniform(60, 3600))
        prio = rng.choice(("P3", "P4"))
        tickets.append({"id": i, "policy": "bench247", "kind": "incident",
                        "subject": f"ticket {i}", "body": "", "priority": prio,
                        "channel": "cli", "status": "new", "created_at": at,
                        "updated_at": at})
        events.append({"ticket_id": i, "kind": "registered", "at": at, "actor": "seed",
                       "data": {}})
        events.append({"ticket_id": i, "kind": "priority_set", "at": at, "actor": "classifier",
                       "data": {"priority": prio}})
        if i % 3 == 1:
            events.append({"ticket_id": i, "kind": "responded", "at": at + timedelta(seconds=30),
                           "actor": "seed", "data": {}})
        elif i % 3 == 2:
            events.append({"ticket_id": i, "kind": "cause_confirmed",
                           "at": at + timedelta(seconds=45), "actor": "seed", "data": {}})
    with db.write_engine.begin() as conn:
        for rows, table in ((tickets, TicketRow.__table__), (events, EventRow.__table__)):  # type: ignore[attr-defined]
            for k in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[k:k + 5000])
        if db.dialect == "postgresql":  # ids were given: move the sequences past them
            for t in ("ticket", "event"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                                  f"(SELECT max(id) FROM {t}))"))
    return time.perf_counter() - started


# -- measurements, each in its own process ----------------------------------------------------


def measure_rebuild(db: Database, policies: Path, now: datetime, precise: bool) -> dict:
    from adapters.reminders.engine import ReminderEngine
    from bot.clock import ManualClock
    from bot.policies import PolicyBook

    base = rss_mb()
    e = ReminderEngine(UnitOfWorks(db), ManualClock(now), PolicyBook("bench247", (policies,)), [])
    started, cpu = time.perf_counter(), time.process_time()
    plan = e.rebuild(precise=precise)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "tickets": plan.tickets, "scheduled": e.scheduled(),
            "sent": plan.sent, "peak_mb": rss_mb(), "base_mb": base,
            "next": str(e.next_wakeup())}


def measure_peer(db: Database, policies: Path, now: datetime, n: int) -> dict:
    from bot.clock import ManualClock
    from bot.policies import PolicyBook
    from bot.services import Helpdesk
    from bot.views import ACTIVE

    base = rss_mb()
    hd = Helpdesk(lambda: SqlUnitOfWork(db), ManualClock(now), PolicyBook("bench247",
                                                                           (policies,)))
    started, cpu = time.perf_counter(), time.process_time()
    views = hd.list(statuses=ACTIVE, limit=n)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "tickets": len(views), "peak_mb": rss_mb(),
            "base_mb": base}


class LatenessSink:
    name = "lateness"

    def __init__(self) -> None:
        self.late: list[float] = []

    def deliver(self, alert) -> None:  # type: ignore[no-untyped-def]
        self.late.append((datetime.now(UTC) - alert.at).total_seconds())


async def _peer_lateness(instants: list[datetime]) -> list[float]:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    out: list[float] = []
    sched = AsyncIOScheduler(timezone="UTC")

    def job(at: datetime) -> None:
        out.append((datetime.now(UTC) - at).total_seconds())

    for i, at in enumerate(instants):
        sched.add_job(job, "date", run_date=at, args=[at], id=f"j{i}", misfire_grace_time=None)
    sched.start()
    while len(out) < len(instants) and datetime.now(UTC) < max(instants) + timedelta(seconds=30):
        await asyncio.sleep(0.1)
    sched.shutdown(wait=False)
    return out


def load_instants(k: int, rng: random.Random, start: datetime) -> list[datetime]:
    """Registration instants of the load tickets: over the last 3 s (so the first reminder, at
    50% of 10 s, is at least 2 s ahead: one poll interval to take the re-plan requests), every
    fourth one shared by a burst."""
    regs = [start - timedelta(seconds=rng.uniform(0, 3)) for _ in range(k)]
    for i in range(0, k, 4):
        regs[i] = regs[0]
    return regs


def measure_lateness(db: Database, policies: Path, k: int, seed_: int) -> dict:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from adapters.reminders.engine import ReminderEngine
    from adapters.reminders.leader import leadership_for
    from adapters.reminders.loop import ReminderLoop
    from adapters.system_clock import SystemClock
    from bot.policies import PolicyBook

    rng = random.Random(seed_)
    # the peer first: bare date jobs at the same shape of instants (10s/20s after the load)
    now = datetime.now(UTC)
    regs = load_instants(k, rng, now)
    prios = [rng.choice(("P1", "P2")) for _ in regs]
    peer_instants = []
    for at, p in zip(regs, prios, strict=True):
        target = 10 if p == "P1" else 20
        peer_instants += [at + timedelta(seconds=target / 2), at + timedelta(seconds=target)]
    peer = asyncio.run(_peer_lateness(peer_instants))

    # the engine: the load tickets are registered for real once the schedule is rebuilt
    with db.engine.connect() as conn:
        last = conn.execute(select(TicketRow.id).order_by(TicketRow.id.desc()).limit(1)).scalar()
    first_id = (last or 0) + 1

    def load_rows() -> tuple[list[dict], list[dict]]:
        regs = load_instants(k, rng, datetime.now(UTC))
        tickets = [{"id": first_id + i, "policy": "bench247", "kind": "incident",
                    "subject": f"load {i}", "body": "", "priority": p, "channel": "cli",
                    "status": "new", "created_at": at, "updated_at": at}
                   for i, (at, p) in enumerate(zip(regs, prios, strict=True))]
        events = [{"ticket_id": t["id"], "kind": "registered", "at": t["created_at"],
                   "actor": "seed", "data": {}} for t in tickets]
        return tickets, events

    sink = LatenessSink()
    clock = SystemClock()
    engine = ReminderEngine(UnitOfWorks(db), clock, PolicyBook("bench247", (policies,)), [sink])

    async def run() -> dict:
        sched = AsyncIOScheduler(timezone="UTC")
        loop = ReminderLoop(engine, leadership_for(db), sched, poll_seconds=1.0)
        loop.start()
        sched.start()
        while not loop.planned.is_set():  # the rebuild of the N tickets: the first poll
            await asyncio.sleep(0.05)
        tickets, events = load_rows()
        with db.write_engine.begin() as conn:
            conn.execute(insert(TicketRow.__table__), tickets)  # type: ignore[attr-defined]
            conn.execute(insert(EventRow.__table__), events)  # type: ignore[attr-defined]
            conn.execute(text("INSERT INTO reminder_replan (ticket_id, requested_at) "
                              "SELECT id, created_at FROM ticket WHERE id >= :f"),
                         {"f": first_id})
        deadline = time.monotonic() + 60
        while len(sink.late) < 2 * k and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        sched.shutdown(wait=False)
        loop.stop()
        return {"delivered": len(sink.late)}

    out = asyncio.run(run())
    return {**out, "expected": 2 * k, "late": sink.late, "peer": peer}


# -- driver -----------------------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    db = open_db(args.url, args.schema)
    policies = Path(args.policies)
    now = datetime.fromisoformat(args.now)
    if args.measure in ("rebuild", "precise"):
        out = measure_rebuild(db, policies, now, args.measure == "precise")
    elif args.measure == "peer":
        out = measure_peer(db, policies, now, args.tickets)
    else:
        out = measure_lateness(db, policies, args.load, args.seed)
    db.dispose()
    print(json.dumps(out, default=str))


def run_child(base: list[str], what: str) -> dict:
    p = subprocess.run([sys.executable, __file__, *base, "--measure", what],
                       capture_output=True, text=True, check=False)
    if p.returncode != 0:
        print(f"  {what}: failed\n{p.stderr[-2000:]}")
        return {}
    return json.loads(p.stdout.strip().splitlines()[-1])


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--load", type=int, default=1000, help="load tickets (2 reminders each)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--pg-url", default=DEFAULT_PG)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--measure", choices=("rebuild", "precise", "peer", "lateness"))
    ap.add_argument("--url")
    ap.add_argument("--schema")
    ap.add_argument("--policies")
    ap.add_argument("--now")
    args = ap.parse_args()
    if args.measure:
        child(args)
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="reminder_bench_"))
    (tmp / "bench247.toml").write_text(POLICY, encoding="utf-8")
    schema = None
    if args.backend == "postgresql":
        url, schema = args.pg_url, f"reminder_bench_{uuid.uuid4().hex[:8]}"
    else:
        url = f"sqlite:///{tmp / 'bench.db'}"
    db = open_db(url, schema)
    try:
        db.upgrade()
        now = datetime.now(UTC)
        seconds = seed(db, args.tickets, now, random.Random(args.seed))
        print(f"reminder_bench: {args.tickets} open tickets on {args.backend}, seeded in "
              f"{seconds:.1f} s (bulk inserts); python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs")
        base = ["--url", url, "--policies", str(tmp), "--now", now.isoformat(),
                "--tickets", str(args.tickets), "--load", str(args.load),
                "--seed", str(args.seed)] + (["--schema", schema] if schema else [])
        r = run_child(base, "rebuild")
        q = run_child(base, "precise")
        p = run_child(base, "peer")
        load = os.getloadavg()[0]
        if r:
            print(f"\nrebuild at start: {r['seconds']:.2f} s ({r['cpu']:.2f} s CPU; load "
                  f"average {load:.1f} on {os.cpu_count()} CPUs) for {r['tickets']} open "
                  f"tickets ({r['scheduled']} with a reminder ahead, {r['sent']} sent), "
                  f"peak RSS {r['peak_mb']:.0f} MB (process before: {r['base_mb']:.0f} MB)")
        if q:
            print(f"  every ticket planned precisely (no wall-clock bound): {q['seconds']:.2f} s "
                  f"({q['cpu']:.2f} s CPU), peak RSS {q['peak_mb']:.0f} MB")
        if p:
            print(f"  peer Helpdesk.list (ORM, the old ClockSweep): {p['seconds']:.2f} s "
                  f"({p['cpu']:.2f} s CPU), peak RSS {p['peak_mb']:.0f} MB "
                  f"(before: {p['base_mb']:.0f} MB)")
        if r and p:
            print(f"  engine is {p['seconds'] / r['seconds']:.1f}x faster and uses "
                  f"{(p['peak_mb'] - p['base_mb']) / max(1, r['peak_mb'] - r['base_mb']):.1f}x "
                  "less memory over its baseline")
            print(f"  target rebuild < 5 s: {verdict(r['seconds'] < 5)}; "
                  f"peak memory < 300 MB: {verdict(r['peak_mb'] < 300)}")
        lat = run_child(base, "lateness")
        if lat:
            late = lat["late"]
            peer = lat["peer"]
            print(f"\nlateness under load ({lat['delivered']}/{lat['expected']} reminders "
                  f"delivered over ~20 s, beside {args.tickets} planned tickets; "
                  f"{(args.load + 3) // 4} tickets share one registration instant):")
            print(f"  engine (claim committed, then the sink): p50 {pct(late, 50) * 1000:.0f} ms, "
                  f"p99 {pct(late, 99) * 1000:.0f} ms, max {max(late) * 1000:.0f} ms")
            print(f"  peer bare APScheduler date jobs ({len(peer)}): p50 "
                  f"{pct(peer, 50) * 1000:.1f} ms, p99 {pct(peer, 99) * 1000:.1f} ms")
            print(f"  target p99 < 1 s: {verdict(pct(late, 99) < 1)}")
    finally:
        db.drop_schema()
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
