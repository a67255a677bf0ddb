"""Section 1: SMTP acceptance, the do-nothing ceiling against the durable handler."""

from __future__ import annotations

from collections.abc import Callable

from bench.intake.clients import Clients
from bench.intake.figures import Row, measure_level
from bench.intake.messages import SUPPORT
from bench.intake.profiling import CommitTimer, ThreadSampler
from bench.intake.server import Db, LoopThread, NullHandler, serve

LEVELS = (1, 8, 32)
TARGET_RATIO = 0.50
TARGET_P99_MS = 30.0


def print_acceptance(rows: dict[tuple[str, int], Row], worker_row: Row | None) -> bool:
    print(f"\n  {'clients':>7}  {'server':<34}{'msg/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'errors':>7}{'msgs/commit':>13}{'(b)/(a)':>9}")
    for n in LEVELS:
        a = rows[("ceiling", n)]
        entries = [("(a) do-nothing handler", a), ("(b) SupportHandler+InboundStore",
                                                    rows[("durable", n)])]
        if n == 8 and worker_row is not None:
            entries.append((f"(b) + worker, {worker_row.res.sent} msgs (sect. 2)",
                            worker_row))
        for label, r in entries:
            ratio = "" if r is a else f"{r.rate / a.rate:.2f}"
            pc = "" if r.per_commit is None else f"{r.per_commit:.2f}"
            print(f"  {n:>7}  {label:<34}{r.rate:>8,.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
                  f"{r.res.errors:>7}{pc:>13}{ratio:>9}")
            if r.res.first_error:
                print(f"           first error: {r.res.first_error}")
    a, b = rows[("ceiling", 8)], rows[("durable", 8)]
    ratio = b.rate / a.rate
    met = ratio >= TARGET_RATIO and b.p99_ms < TARGET_P99_MS
    print(f"\n  target, durable at 8 clients: >= {TARGET_RATIO:.0%} of the ceiling and p99 < "
          f"{TARGET_P99_MS:.0f} ms: {'MET' if met else 'NOT MET'} ({ratio:.0%}, p99 "
          f"{b.p99_ms:.1f} ms)")
    if worker_row is not None:
        wr = worker_row.rate / a.rate
        wmet = wr >= TARGET_RATIO and worker_row.p99_ms < TARGET_P99_MS
        print(f"  same target with the processing worker running: {'MET' if wmet else 'NOT MET'}"
              f" ({wr:.0%}, p99 {worker_row.p99_ms:.1f} ms)")
    return met


def section1(db: Db, clients: Clients, lt: LoopThread, messages: int, repeat: int, seed0: int,
             profile: bool) -> Callable[[Row | None], None]:
    """Measure every level against the ceiling and the durable server (the 8-client level
    ``repeat`` times, the median shown); returns the report, printed once section 2 has given
    the run with the worker."""
    from adapters.mail.smtp import SupportHandler

    null = serve(lt, NullHandler())
    durable = serve(lt, SupportHandler(db.store, [SUPPORT]))
    for srv in (null, durable):  # warm up: imports, first connections, first commits
        clients.level(srv.port, 4, 40, "warmup", seed0)
    rows: dict[tuple[str, int], Row] = {}
    repeats: list[tuple[Row, Row]] = []
    sampler_report: ThreadSampler | None = None
    timer: CommitTimer | None = None
    for n in LEVELS:
        pairs = []
        for r in range(repeat if n == 8 else 1):
            seed = seed0 + n + 1000 * r
            a = measure_level(clients, null.port, n, messages, "ceiling", seed, None)
            if profile and n == 8 and r == 0:
                timer = CommitTimer(db.store)
                with ThreadSampler(["smtp-loop", "inbound-writer"]) as sampler_report:
                    b = measure_level(clients, durable.port, n, messages, "durable",
                                      seed, db.store)
                timer.close()
            else:
                b = measure_level(clients, durable.port, n, messages, "durable", seed,
                                  db.store)
            pairs.append((a, b))
        if len(pairs) > 1:
            repeats = pairs
        a, b = sorted(pairs, key=lambda ab: ab[1].rate / ab[0].rate)[len(pairs) // 2]
        rows[("ceiling", n)], rows[("durable", n)] = a, b
    lt.run(null.stop())
    lt.run(durable.stop())

    def report(worker_row: Row | None) -> None:
        print_acceptance(rows, worker_row)
        if repeats:
            print(f"  8 clients was run {len(repeats)} times, (a) then (b) each time; the table "
                  "shows the median run by (b)/(a). All runs: " + "; ".join(
                      f"(a) {a.rate:,.0f}/s (b) {b.rate:,.0f}/s = {b.rate / a.rate:.2f}, p99 "
                      f"{b.p99_ms:.1f} ms" for a, b in repeats))
        if sampler_report is not None:
            print("\n  profile: server threads during (b) at 8 clients, first run, no worker "
                  "(1 ms wall-clock stack samples):")
            sampler_report.report()
            if timer is not None:
                timer.report()

    return report
