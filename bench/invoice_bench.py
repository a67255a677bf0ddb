"""Benchmark: ``supportbot invoices list`` / ``export`` over a year of accepted reports, from the
figures kept with each sent report, against recomputing every report from history.

    .venv/bin/python bench/invoice_bench.py                 # SQLite, 100,000 tickets
    .venv/bin/python bench/invoice_bench.py --tickets 300000 --reports 52

Data: ``bench/report_bench.py``'s seeded tickets (24 clients, Zipf-like sizes, time logged on
half the tickets); the largest client (``client01``) is billed by the hour
(P1 150, P2 120, P3 95, P4 80). The reports of its last ``--reports`` sprints are sent and
accepted (each sent at the close of its sprint, with ``Approvals.send``, so their figures are
kept).

Measured, median and best of ``--repeat`` runs:

- the bot: ``Invoicing.list()`` then ``lines()`` (the CLI's ``invoices list`` and ``export``):
  the sent reports and their stored figures;
- peer, naive: the same lines with every report recomputed from the stored tickets (what an
  export would cost without the figures: ``Reporting.report`` per sent report), and whether both
  give the same lines.

Prints figures and ratios only; no assertions on timings; exit code 0.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report_bench import NOW, seed

from adapters.storage import Database, SqlUnitOfWork
from bot.clock import ManualClock
from bot.policies import PolicyBook
from bot.priority import Priority
from bot.reports.approval import Approvals
from bot.reports.invoices import Invoicing, figures, lines_of
from bot.reports.service import Reporting

CLIENT = "client01"
RATES = ((Priority.P1, 150.0), (Priority.P2, 120.0), (Priority.P3, 95.0), (Priority.P4, 80.0))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def send_year(db: Database, reports: int) -> tuple[Approvals, Reporting, ManualClock]:
    """Send and accept the client's last ``reports`` sprint reports, oldest first."""
    clock = ManualClock(NOW)
    policies = PolicyBook("panenco")
    with SqlUnitOfWork(db) as uow:
        c = uow.clients.get(CLIENT)
        assert c is not None
        uow.clients.upsert(replace(c, rates=RATES, invoice_amount=0.0,
                                   emails=("finance@client01.example",)))
        uow.commit()
    reporting = Reporting(lambda: SqlUnitOfWork(db, write=False), clock, policies)
    approvals = Approvals(lambda: SqlUnitOfWork(db), clock, policies, "support@provider.example")
    policy = policies.get("panenco")
    last = reporting.period(policy, "previous")
    ends = [last.end_at(policy.calendar.tz) - timedelta(days=14 * k) for k in range(reports)]
    for end in reversed(ends):
        clock.set(end + timedelta(hours=1))
        with SqlUnitOfWork(db, write=False) as uow:
            client = uow.clients.get(CLIENT)
        assert client is not None
        sent = approvals.send(reporting.report(CLIENT, "previous"), client)
        assert sent.id is not None
        approvals.decide(sent.id, "accepted", actor="bench")
    clock.set(NOW)
    return approvals, reporting, clock


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--reports", type=int, default=26)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'invoice_bench.db'}")
        db.upgrade()
        try:
            events, secs = seed(db, args.tickets, args.seed)
            print(f"[sqlite] seeded {args.tickets:,} tickets and {events:,} events in {secs:.0f} s")
            t_send, (approvals, reporting, _clock) = timed(lambda: send_year(db, args.reports))
            print(f"  sent and accepted {args.reports} reports of {CLIENT} in {t_send:.1f} s")
            invoicing = Invoicing(approvals.list, lambda s: reporting.report(s.client, s.period))

            def bot() -> Any:
                invoicing.list()
                return invoicing.lines()

            def naive() -> Any:
                out = []
                for s, _state, _policy in reversed(approvals.list()):
                    out += lines_of(s, figures(reporting.report(s.client, s.period)))
                return out

            ours = [timed(bot) for _ in range(args.repeat)]
            peer = [timed(naive) for _ in range(args.repeat)]
            lines = ours[0][1]
            same = [x.row() for x in lines] == [x.row() for x in peer[0][1]]
            amount = sum(x.amount for x in lines)
            credits = sum(x.credits for x in lines)
            med, pmed = (statistics.median(t for t, _ in runs) for runs in (ours, peer))
            print(f"  {len(lines)} invoice lines, amount {amount:.2f}, credits {credits:.2f} EUR")
            print(f"  bot (stored figures): median {med * 1000:.1f} ms, best "
                  f"{min(t for t, _ in ours) * 1000:.1f} ms of {args.repeat}")
            print(f"  peer, recompute every report: median {pmed * 1000:.1f} ms, best "
                  f"{min(t for t, _ in peer) * 1000:.1f} ms ({pmed / med:.1f}x the bot; "
                  f"same lines: {same})")
        finally:
            db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
