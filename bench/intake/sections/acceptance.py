"""Section 1: SMTP acceptance, the do-nothing ceiling against the durable handler."""

from __future__ import annotations

from bench.intake.figures import Row

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
