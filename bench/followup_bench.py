"""The pager loop's missing-call check: loading the tickets that await their P1 follow-up call,
against the load it replaced (every active ticket with its events, then filtered).

    .venv/bin/python bench/followup_bench.py [--active N] [--waiting K] [--repeat R]

Seeds a fresh SQLite database (temp dir) through the real services: N active tickets (P3, with
no follow-up step) and K active P1s still waiting for their call, plus K P1s whose call came.
Then times, R times each, one round's load:

- ``awaiting``: ``uow.phone.awaiting_followup()`` (status index, correlated EXISTS on the event
  index; only the waiting tickets' events are loaded);
- ``peer``: ``Helpdesk.list(statuses=ACTIVE, limit=100_000)``, what ``chase_missing`` loaded
  before, with every clock derived.

Prints medians and the ratio; asserts nothing; exits 0.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from adapters.storage import Database, SqlUnitOfWork
from bot.clock import ManualClock
from bot.model import Client
from bot.policies import PolicyBook
from bot.priority import Priority
from bot.services import Helpdesk
from bot.views import ACTIVE


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--active", type=int, default=3000)
    ap.add_argument("--waiting", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        db.upgrade()
        clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
        helpdesk = Helpdesk(lambda: SqlUnitOfWork(db), clock, PolicyBook("panenco"))
        helpdesk.sync_directory([Client(name="acme", policy="panenco")])
        started = time.perf_counter()
        for i in range(args.active):
            helpdesk.register(subject=f"Question {i}", client="acme", priority=Priority.P3,
                              actor="seed", reason="bench")
        for i in range(2 * args.waiting):
            ref = helpdesk.register(subject=f"Down {i}", client="acme", priority=Priority.P1,
                                    actor="seed", reason="bench").reference
            if i % 2:
                helpdesk.confirm_phone_followup(ref, actor="phone")
        print(f"seeded {args.active + 2 * args.waiting} active tickets in "
              f"{time.perf_counter() - started:.1f} s (SQLite, temp dir)")

        def awaiting() -> int:
            with SqlUnitOfWork(db, write=False) as uow:
                return len(uow.phone.awaiting_followup())

        def peer() -> int:
            return len(helpdesk.list(statuses=ACTIVE, limit=100_000))

        medians = {}
        for name, load in (("awaiting", awaiting), ("peer", peer)):
            times, n = [], 0
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                n = load()
                times.append(time.perf_counter() - t0)
            medians[name] = statistics.median(times)
            print(f"{name:9s} {n:6d} tickets loaded  median {medians[name] * 1000:9.1f} ms "
                  f"over {args.repeat} runs")
        print(f"ratio peer/awaiting: {medians['peer'] / medians['awaiting']:.0f}x")
        db.dispose()


if __name__ == "__main__":
    main()
