"""Figures: percentiles, one measured acceptance level, and the machine the run is on."""

from __future__ import annotations

import math
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.intake.clients import Clients, LevelResult


def pct(xs: Sequence[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[max(0, math.ceil(q * len(s)) - 1)]


@dataclass
class Row:
    server: str
    res: LevelResult
    per_commit: float | None = None

    @property
    def rate(self) -> float:
        return len(self.res.latencies) / self.res.wall if self.res.wall > 0 else 0.0

    @property
    def p50_ms(self) -> float:
        return 1000 * pct(self.res.latencies, 0.50)

    @property
    def p99_ms(self) -> float:
        return 1000 * pct(self.res.latencies, 0.99)


def measure_level(clients: Clients, port: int, n_clients: int, messages: int, tag: str,
                  seed: int, store: Any | None) -> Row:
    b0, s0 = (store.batches, store.stored) if store else (0, 0)
    res = clients.level(port, n_clients, messages, tag, seed)
    per_commit = None
    if store is not None:
        db, ds = store.batches - b0, store.stored - s0
        per_commit = ds / db if db else float("nan")
    return Row(tag, res, per_commit)


def fsync_ms(folder: Path, n: int = 20) -> float:
    path = folder / "fsync.probe"
    best = []
    with open(path, "wb") as f:
        for _ in range(n):
            f.write(b"x" * 4096)
            f.flush()
            t0 = time.perf_counter()
            os.fsync(f.fileno())
            best.append(time.perf_counter() - t0)
    path.unlink()
    return 1000 * pct(best, 0.5)


def machine(backends: Sequence[str], pg_url: str) -> None:
    from importlib.metadata import version

    print(f"python {sys.version.split()[0]} ({platform.python_implementation()}), "
          f"{os.cpu_count()} cores ({platform.machine()}, {platform.system()} "
          f"{platform.release()})")
    libs = ", ".join(f"{p} {version(p)}" for p in ("aiosmtpd", "SQLAlchemy", "sqlmodel",
                                                   "psycopg"))
    print(f"{libs}, SQLite {sqlite3.sqlite_version}")
    tmp = Path(tempfile.mkdtemp(prefix="intake_bench_fsync_"))
    try:
        print(f"fsync of 4 KB in {tempfile.gettempdir()}: median {fsync_ms(tmp):.2f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if "postgresql" in backends:
        try:
            import psycopg

            with psycopg.connect(pg_url, connect_timeout=5) as c:
                v = c.execute("SHOW server_version").fetchone()
                sc = c.execute("SHOW synchronous_commit").fetchone()
                print(f"PostgreSQL {v[0] if v else '?'}, synchronous_commit="
                      f"{sc[0] if sc else '?'}")
        except Exception as e:
            print(f"PostgreSQL at {pg_url}: {e}")
