"""The command line where people wait, before and after, beside ``python -c pass``, in one run.

    .venv/bin/python bench/cli_bench.py [--base REV] [--tickets 10000] [--runs 7] [--ingest 20]

Figures (the median wall time of ``--runs`` fresh processes each, alternated between the trees
so a machine that slows down weighs on both alike):
- ``python -c pass``: the interpreter's own start, the floor of any command;
- ``supportbot --help``: target at most 150 ms;
- ``supportbot tickets list`` with ``--tickets`` tickets in SQLite: target at most 400 ms;
- ``supportbot ingest`` of one message, ms per message over ``--ingest`` runs: target at most
  100 ms. It is measured twice: with a bot running (a ``supportbot run`` on the same database, so
  the command only stores the message and exits) and with none (the command processes it).

``REV`` (default: the merge base with ``main``) is checked out into a temporary git worktree and
its commands run with this interpreter and that tree first on ``sys.path`` (``python -m
adapters.cli``), so each tree runs its own code on the same seeded database. The tickets are
seeded once, quickly: ``Ticket.register`` and the ticket repository in one transaction.
Prints a table; asserts nothing; exits 0.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUN = "from adapters.cli import main; raise SystemExit(main())"
"""A tree's command line: ``python -c RUN ARGS`` with the tree as the working folder puts it
first on ``sys.path`` (the base revision may lack ``python -m adapters.cli``)."""

TARGETS = {"--help": 150.0, "tickets list": 400.0, "ingest (a bot runs)": 100.0}


def message(n: int) -> bytes:
    return (f"From: Jo <jo@acme.example>\r\nTo: support@example.com\r\n"
            f"Subject: Checkout fails {n}\r\nMessage-ID: <bench-{n}@acme.example>\r\n"
            f"Date: Wed, 02 Dec 2026 10:00:00 +0000\r\n\r\nThe checkout fails.\r\n").encode()


def write_config(folder: Path) -> Path:
    """A settings file: SQLite in ``folder``, SMTP on a port of the kernel's choosing, no
    scheduler (a bot started for the ingest figure then only takes mail)."""
    config = folder / "supportbot.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{folder / "bench.db"}"\n\n'
        '[mail]\nsupport_addresses = ["support@example.com"]\n\n[smtp]\nport = 0\n\n'
        '[scheduler]\nenabled = false\n', encoding="utf-8")
    return config


def seed(config: Path, n: int) -> float:
    """``n`` tickets in one transaction through the repositories; returns the seconds taken."""
    from adapters.bootstrap import open_database
    from adapters.storage import SqlUnitOfWork
    from bot.classify import Classification
    from bot.classify.model import Reason
    from bot.model import Channel
    from bot.priority import Priority
    from bot.ticket import Ticket
    from config.settings import load_settings

    t0 = time.perf_counter()
    settings = load_settings(config, env={})
    db = open_database(settings)
    db.upgrade()
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    priorities = list(Priority)
    with SqlUnitOfWork(db, write=True) as uow:
        for i in range(n):
            p = priorities[i % len(priorities)]
            found = Classification(p, 1.0, (Reason("bench", f"seeded at {p}", p, 1.0),))
            uow.tickets.add(Ticket.register(
                client=None, policy=settings.policies.default, subject=f"Checkout fails {i}",
                body="It fails.", channel=Channel.EMAIL, requester="jo@acme.example",
                found=found, phone_followup=(), now=start + timedelta(minutes=3 * i),
                actor="bench"))
        uow.tickets.collect_new_events()
        uow.commit()
    db.dispose()
    return time.perf_counter() - t0


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}


def timed(cmd: Sequence[str], cwd: Path, stdin: bytes = b"") -> tuple[float, float]:
    """Run ``cmd`` once: (wall ms, CPU ms of the child). Fails loudly on a non-zero exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, env=clean_env(),
                       check=False)
    wall = (time.perf_counter() - t0) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[3:])} in {cwd} failed ({p.returncode}): "
                         f"{p.stderr.decode(errors='replace')[-600:]}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


class Figures:
    def __init__(self) -> None:
        self.wall: dict[tuple[str, str], list[float]] = {}
        self.cpu: dict[tuple[str, str], list[float]] = {}

    def add(self, name: str, label: str, wall: float, cpu: float) -> None:
        self.wall.setdefault((name, label), []).append(wall)
        self.cpu.setdefault((name, label), []).append(cpu)

    def median(self, name: str, label: str) -> tuple[float, float] | None:
        if (name, label) not in self.wall:
            return None
        return (statistics.median(self.wall[name, label]),
                statistics.median(self.cpu[name, label]))


class Bot:
    """``supportbot run`` of this tree on the bench database, until ``stop()``."""

    def __init__(self, config: Path) -> None:
        self.log = config.parent / "bot.log"
        self.fh = self.log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-c", RUN, "--config", str(config), "run"],
                                     cwd=ROOT, env=clean_env(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.fh)
        deadline = time.monotonic() + 60
        while b"supportbot running" not in self.log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the bot did not start:\n" + self.log.read_text()[-800:])
            time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.fh.close()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="", help="the revision before (default: merge-base main)")
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=7, help="fresh processes per figure and tree")
    ap.add_argument("--ingest", type=int, default=20, help="messages piped one by one")
    args = ap.parse_args(argv)
    git = ["git", "-C", str(ROOT)]
    base = args.base or subprocess.run([*git, "merge-base", "HEAD", "main"], capture_output=True,
                                       text=True, check=True).stdout.strip()
    rev = subprocess.run([*git, "rev-parse", "--short", base], capture_output=True, text=True,
                         check=True).stdout.strip()
    tmp = Path(tempfile.mkdtemp(prefix="cli_bench_"))
    before = tmp / "before"
    subprocess.run([*git, "worktree", "add", "--detach", "-q", str(before), base], check=True)
    config = write_config(tmp)
    print(f"before = {rev}, after = this tree; {args.runs} runs per figure alternated, "
          f"{args.tickets:,} tickets in SQLite, python {sys.version.split()[0]}, "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"seeded {args.tickets:,} tickets in {seed(config, args.tickets):.1f} s", flush=True)
    trees = (("before", before), ("after", ROOT))
    figures = Figures()

    def cli(tree: Path, *a: str) -> list[str]:
        return [sys.executable, "-c", RUN, "--config", str(config), *a]

    commands: list[tuple[str, Callable[[Path], list[str]]]] = [
        ("--help", lambda t: cli(t, "--help")),
        ("tickets list", lambda t: cli(t, "tickets", "list")),
    ]
    counter = iter(range(1_000_000))
    try:
        for _ in range(args.runs):
            figures.add("python -c pass", "-", *timed([sys.executable, "-c", "pass"], ROOT))
            for name, cmd in commands:
                for label, tree in trees:
                    figures.add(name, label, *timed(cmd(tree), tree))
        # ingest: no bot (both trees process the message themselves), then with a bot running
        for _ in range(args.ingest):
            for label, tree in trees:
                figures.add("ingest (no bot)", label,
                            *timed(cli(tree, "ingest"), tree, message(next(counter))))
        bot = Bot(config)
        try:
            for _ in range(args.ingest):
                figures.add("ingest (a bot runs)", "after",
                            *timed(cli(ROOT, "ingest"), ROOT, message(next(counter))))
        finally:
            bot.stop()
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(before)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    report(figures, args)
    return 0


def report(figures: Figures, args: argparse.Namespace) -> None:
    print(f"\n{'median ms (wall / CPU)':<26}{'before':>16}{'after':>16}{'target':>10}")
    floor = figures.median("python -c pass", "-")
    assert floor is not None
    print(f"{'python -c pass':<26}{'':>16}{floor[0]:>9.0f} / {floor[1]:<4.0f}")
    for name in ("--help", "tickets list", "ingest (no bot)", "ingest (a bot runs)"):
        cells = []
        for label in ("before", "after"):
            m = figures.median(name, label)
            cells.append(f"{m[0]:>9.0f} / {m[1]:<4.0f}" if m else f"{'-':>16}")
        target = TARGETS.get(name)
        after = figures.median(name, "after")
        verdict = ""
        if target is not None and after is not None:
            verdict = f"{target:>8.0f}  {'MET' if after[0] <= target else 'NOT MET'}"
        print(f"{name:<26}{cells[0]}{cells[1]}{verdict}")
    print(f"\ningest figures are ms per message over {args.ingest} messages piped one by one; "
          "before, ingest always processed the message itself (no fast path existed)")


if __name__ == "__main__":
    raise SystemExit(main())
