"""Where the time goes (``--profile``, ``--cprofile``): stack samples of named threads, SQL
statements per message, the inbound writer's transactions, and cProfile tables."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.intake.figures import pct

ROOT = Path(__file__).resolve().parents[2]

KEY_FRAMES = (":do_commit", ":do_execute", "session.py:flush", "session.py:commit",
              "json/__init__.py:loads", "json/__init__.py:dumps", "feedparser.py:feed",
              "queue.py:get", "selectors.py:select", "aiosmtpd/smtp.py:_handle_client",
              "threading.py:wait", "sqlmodel_table_construct")


class ThreadSampler:
    """Samples named threads' Python stacks every ``interval`` s (wall time, a poor man's
    py-spy): shares of samples by innermost frame and by function anywhere on the stack."""

    def __init__(self, names: Sequence[str], interval: float = 0.001) -> None:
        self.names = set(names)
        self.interval = interval
        self.leaf: dict[str, Counter[str]] = defaultdict(Counter)
        self.incl: dict[str, Counter[str]] = defaultdict(Counter)
        self.samples: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def __enter__(self) -> ThreadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _where(code: Any) -> str:
        f = code.co_filename
        for base in (str(ROOT) + os.sep, os.sep + "site-packages" + os.sep,
                     os.sep + "python3.11" + os.sep):
            if base in f:
                f = f.split(base, 1)[1]
                break
        return f"{f}:{code.co_name}"

    def _run(self) -> None:
        while not self._stop.is_set():
            idents = {t.ident: t.name for t in threading.enumerate() if t.name in self.names}
            frames = sys._current_frames()
            for ident, name in idents.items():
                f = frames.get(ident or -1)
                if f is None:
                    continue
                self.samples[name] += 1
                self.leaf[name][self._where(f.f_code)] += 1
                seen = set()
                while f is not None:
                    seen.add(self._where(f.f_code))
                    f = f.f_back
                for w in seen:
                    self.incl[name][w] += 1
            time.sleep(self.interval)

    def report(self, top: int = 12) -> None:
        print("  (in-process samples need the GIL: frames that release it, database calls and "
              "I/O, are over-weighted; see bench/README.md for py-spy)")
        for name in sorted(self.samples):
            n = self.samples[name]
            print(f"  thread {name}: {n} samples")
            print("    innermost Python frame (wall time share):")
            for w, c in self.leaf[name].most_common(top):
                print(f"      {100 * c / n:5.1f}%  {w}")
            print("    on the stack (inclusive wall time share; project code and key library "
                  "frames):")
            shown = 0
            for w, c in self.incl[name].most_common():
                if not w.startswith(("bot/", "adapters/")) and not w.endswith(KEY_FRAMES):
                    continue
                print(f"      {100 * c / n:5.1f}%  {w}")
                shown += 1
                if shown >= top + 8:
                    break


class StatementCounter:
    """Counts SQL statements sent to the driver, by verb and table, and the time each kind
    spent in the driver (cursor execute to its return; profile mode only)."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.engine = engine
        self.counts: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self._started: list[tuple[str, float]] = []
        self._event = event
        event.listen(engine, "before_cursor_execute", self._on)
        event.listen(engine, "after_cursor_execute", self._off)

    @staticmethod
    def _kind(statement: str) -> str:
        words = statement.split()
        verb = words[0].upper() if words else "?"
        table = ""
        for kw in ("FROM", "INTO", "UPDATE"):
            if kw in words:
                i = words.index(kw) + (0 if kw == "UPDATE" and words[0] == "UPDATE" else 1)
                table = words[i].strip('"') if i < len(words) else ""
                break
        return f"{verb} {table}".strip()

    def _on(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        kind = self._kind(statement)
        self.counts[kind] += 1
        self._started.append((kind, time.perf_counter()))

    def _off(self, *args: Any) -> None:
        if self._started:
            kind, t0 = self._started.pop()
            self.seconds[kind] += time.perf_counter() - t0

    def close(self) -> None:
        self._event.remove(self.engine, "before_cursor_execute", self._on)
        self._event.remove(self.engine, "after_cursor_execute", self._off)

    def report(self, per: int) -> None:
        total = sum(self.counts.values())
        n = max(per, 1)
        print(f"  SQL statements: {total} for {per} messages ({total / n:.1f} per message), "
              f"{1000 * sum(self.seconds.values()) / n:.2f} ms per message in the driver")
        for k, c in self.counts.most_common(16):
            print(f"    {c / n:6.2f}/message {1000 * self.seconds[k] / n:6.2f} ms/message  {k}")


class CommitTimer:
    """Times the inbound writer's transactions (profile mode only; wraps the instance's
    ``_commit``, the store's code is unchanged)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.durations: list[float] = []
        self.sizes: list[int] = []
        original = store._commit

        def timed(jobs: list[Any]) -> None:
            t0 = time.perf_counter()
            original(jobs)
            self.durations.append(time.perf_counter() - t0)
            self.sizes.append(len(jobs))

        store._commit = timed
        self._original = original

    def close(self) -> None:
        self.store._commit = self._original

    def report(self) -> None:
        d = self.durations
        if not d:
            return
        print(f"  inbound writer: {len(d)} transactions, messages each p50 {pct(self.sizes, .5)}"
              f" max {max(self.sizes)}; duration (insert + commit) p50 {1000 * pct(d, .5):.2f}"
              f" ms, p90 {1000 * pct(d, .9):.2f} ms, p99 {1000 * pct(d, .99):.2f} ms, max "
              f"{1000 * max(d):.2f} ms; busy {sum(d):.2f} s")


def print_cprofile(prof: cProfile.Profile, top: int = 25) -> None:
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf)
    total = st.total_tt  # type: ignore[attr-defined]
    rows = []
    for (file, _line, fn), (_cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        short = file.split(str(ROOT) + os.sep, 1)[-1].split("site-packages" + os.sep, 1)[-1]
        short = short.split("python3.11" + os.sep, 1)[-1]
        rows.append((short, fn, nc, tt, ct))
    print(f"  total {total:.2f} s profiled")
    print("  by own time (tottime):")
    for f, fn, nc, tt, _ct in sorted(rows, key=lambda r: -r[3])[:top]:
        print(f"    {100 * tt / total:5.1f}%  {tt:6.2f} s  {nc:>8} calls  {f}:{fn}")
    print("  by inclusive time (cumtime), project code and the database layer:")
    shown = 0
    for f, fn, nc, _tt, ct in sorted(rows, key=lambda r: -r[4]):
        if not (f.startswith(("bot/", "adapters/", "sqlalchemy/", "sqlmodel/", "psycopg/"))
                or fn in {"commit", "execute"}):
            continue
        print(f"    {100 * ct / total:5.1f}%  {ct:6.2f} s  {nc:>8} calls  {f}:{fn}")
        shown += 1
        if shown >= top + 10:
            break
