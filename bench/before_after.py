"""Before and after in one run: the headline figures of this tree beside those of another revision.

    .venv/bin/python bench/before_after.py --base REV [--rounds N] [--backend sqlite|postgresql]
                                           [--only backlog,acceptance,rebuild]

``REV`` (a commit, tag or branch) is checked out into a temporary git worktree; both trees run
the same benchmark commands with this interpreter, alternated (before, after, before, after, ...)
so a machine that speeds up or slows down between minutes weighs on both alike. Each benchmark
script puts its own tree first on ``sys.path``, so each run measures its own tree's code.

Figures (each the benchmark's own printout, parsed):
- backlog: registration throughput from a backlog of 1,000 messages, all outcomes per second
  (``intake_bench.py --backlog-only``);
- acceptance: durable SMTP acceptance at 8 clients as a share of the do-nothing ceiling, and its
  p99 (``intake_bench.py`` section 1, ``--messages 1000 --repeat 1``);
- rebuild: the reminder engine's schedule rebuild with 100,000 open tickets, seconds and peak
  RSS (``reminder_bench.py``).

Prints a table (median of the rounds per tree, every round listed) and after/before ratios;
asserts nothing; exit code 0 (2 when a tree's run printed no figure).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str
    better: str  # "higher" or "lower"
    pattern: str  # a regex whose first group is the number


@dataclass(frozen=True)
class Bench:
    name: str
    args: Callable[[str], list[str]]  # backend -> arguments after the script
    script: str
    figures: tuple[Figure, ...]


BENCHES = (
    Bench("backlog", lambda b: ["--backend", b, "--backlog-only", "--backlog", "1000"],
          "bench/intake_bench.py",
          (Figure("backlog registration", "outcomes/s", "higher",
                  r"all outcomes/s\s+([\d,.]+)"),)),
    Bench("acceptance", lambda b: ["--backend", b, "--messages", "1000", "--repeat", "1",
                                   "--worker-messages", "200", "--backlog", "200"],
          "bench/intake_bench.py",
          (Figure("durable acceptance, 8 clients", "of ceiling", "higher",
                  r"durable at 8 clients.*?\((\d+)%, p99"),
           Figure("durable acceptance p99, 8 clients", "ms", "lower",
                  r"durable at 8 clients.*?p99 ([\d.]+) ms"))),
    Bench("rebuild", lambda b: ["--backend", b, "--tickets", "100000", "--load", "200"],
          "bench/reminder_bench.py",
          (Figure("reminder rebuild, 100,000 tickets", "s", "lower",
                  r"rebuild at start: ([\d.]+) s"),
           Figure("reminder rebuild peak RSS", "MB", "lower",
                  r"rebuild at start:.*?peak RSS (\d+) MB"))),
)


def run(tree: Path, bench: Bench, backend: str) -> tuple[dict[str, float], str]:
    cmd = [sys.executable, str(tree / bench.script), *bench.args(backend)]
    p = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, check=False)
    out = p.stdout + p.stderr
    found: dict[str, float] = {}
    for f in bench.figures:
        m = re.search(f.pattern, out, flags=re.S)
        if m:
            found[f.name] = float(m.group(1).replace(",", ""))
    return found, out


def worktree(rev: str, folder: Path) -> Path:
    path = folder / "before"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), rev],
                   check=True)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the revision to compare against")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--only", default="", help="comma-separated: backlog,acceptance,rebuild")
    args = ap.parse_args(argv)
    wanted = {w for w in args.only.split(",") if w}
    benches = [b for b in BENCHES if not wanted or b.name in wanted]
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.base],
                         capture_output=True, text=True, check=True).stdout.strip()
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    print(f"before = {args.base} ({rev}), after = this tree (HEAD {head}, with its changes); "
          f"{args.rounds} rounds alternated, backend {args.backend}, python "
          f"{sys.version.split()[0]}")
    tmp = Path(tempfile.mkdtemp(prefix="before_after_"))
    before = worktree(args.base, tmp)
    results: dict[tuple[str, str], list[float]] = {}
    failed = False
    t0 = time.perf_counter()
    try:
        for bench in benches:
            for r in range(args.rounds):
                for label, tree in (("before", before), ("after", ROOT)):
                    found, out = run(tree, bench, args.backend)
                    if not found:
                        failed = True
                        print(f"  {bench.name} {label} round {r + 1}: no figure; its output "
                              f"ended:\n" + "\n".join(out.strip().splitlines()[-8:]))
                    for name, value in found.items():
                        results.setdefault((name, label), []).append(value)
                    print(f"  {bench.name} round {r + 1} {label}: " + ", ".join(
                        f"{k} {v:,.2f}" for k, v in found.items()), flush=True)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)],
                       check=False)
    print(f"\n{'figure':<38}{'unit':>12}{'before':>12}{'after':>12}{'after/before':>14}")
    for bench in benches:
        for f in bench.figures:
            b, a = results.get((f.name, "before")), results.get((f.name, "after"))
            if not b or not a:
                continue
            mb, ma = statistics.median(b), statistics.median(a)
            ratio = ma / mb if mb else float("nan")
            worse = (ratio < 1) if f.better == "higher" else (ratio > 1)
            print(f"{f.name:<38}{f.unit:>12}{mb:>12,.2f}{ma:>12,.2f}{ratio:>13.2f}"
                  f"{' (worse)' if worse else ''}")
    print("\nrounds: " + "; ".join(
        f"{name} {label}: {', '.join(f'{v:,.2f}' for v in vals)}"
        for (name, label), vals in results.items()))
    print(f"total run time {time.perf_counter() - t0:.0f} s")
    return 2 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
