"""Benchmark of working-time ``add`` on the provider calendar, against two peer libraries.

    .venv/bin/python bench/sla_bench.py [--cases N] [--peer-sample M] [--seed S]

Calendar: Mon-Fri 09:00-18:00 Europe/Brussels with Belgian public holidays (the panenco policy's
calendar). Cases (seeded, identical on every run): start instants at whole minutes spread uniformly
over 2026-2027 (in and outside service windows), durations of 1 min to 120 h in whole minutes.

Implementations:
- engine: ``bot.sla.calendar.Calendar.add`` on aware datetimes, all N cases.
- businesstimedelta: ``WorkDayRule`` 09-18 Mon-Fri + ``HolidayRule`` with the same Belgian dates, on
  naive local wall-clock datetimes (it knows no time zones: it treats them as UTC). It takes any
  duration, so it runs the very same cases, on the first M only (it is slow).
- pandas: ``Timestamp + CustomBusinessHour(n, start="09:00", end="18:00", holidays=...)`` on naive
  local timestamps. ``n`` must be an integer number of hours (``n=1.5`` raises ValueError) and there
  is no business-minute offset, so pandas gets the same starts with each duration rounded to whole
  hours (at least 1 h); the engine is re-run on those rounded durations for the agreement check.
  Emulating the minutes by hand would benchmark and check glue code, not pandas. First M only.

Agreement is checked on starts that are not in the repeated autumn hour (the only wall times a
naive peer cannot place); every disagreement is classified, with one example per class and which
side is right by DESIGN.md's definition: ``add(start, d)`` is the earliest instant ``t >= start``
with ``working_time(start, t) == d``. Prints only; no assertion on timings; exit code 0.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

# run as a script from anywhere: the repo root holds `bot` and the shared `tests.sla_reference`
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.sla.calendar import Calendar
from bot.sla.closed_days import ClosedDays

TARGET_ADD_PER_S = 300_000
FIRST = datetime(2026, 1, 1, tzinfo=UTC)
LAST = datetime(2028, 1, 1, tzinfo=UTC)
MAX_MINUTES = 120 * 60


def provider_calendar() -> Calendar:
    return Calendar("Europe/Brussels", {wd: [(540, 1080)] for wd in range(5)},
                    ClosedDays(country="BE"))


@dataclass(frozen=True)
class Case:
    start: datetime  # aware, Europe/Brussels
    minutes: int

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.minutes)

    @property
    def whole_hours(self) -> int:
        return max(1, round(self.minutes / 60))


def make_cases(cal: Calendar, n: int, seed: int) -> list[Case]:
    rng = random.Random(seed)
    span = int((LAST - FIRST) / timedelta(minutes=1))
    return [Case((FIRST + timedelta(minutes=rng.randrange(span))).astimezone(cal.tz),
                 rng.randint(1, MAX_MINUTES)) for _ in range(n)]


def ops_per_s(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def best_time(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# -- the peers ------------------------------------------------------------------------------------


def belgian_dates(cal: Calendar) -> list[date]:
    # through 2035: businesstimedelta's HolidayRule looks 5 years ahead and crashes (TypeError in
    # datetime.combine) when its list holds no later holiday
    return sorted(d for y in range(2025, 2036) for d in cal.closed.in_year(y))


def run_businesstimedelta(cal: Calendar, cases: Sequence[Case]) -> tuple[list[datetime], float]:
    import datetime as dt

    import businesstimedelta as btd

    rule = btd.Rules([
        btd.WorkDayRule(start_time=dt.time(9), end_time=dt.time(18), working_days=[0, 1, 2, 3, 4]),
        btd.HolidayRule(belgian_dates(cal)),
    ])
    starts = [c.start.replace(tzinfo=None) for c in cases]
    deltas = [btd.BusinessTimeDelta(rule, seconds=c.minutes * 60) for c in cases]
    t0 = time.perf_counter()
    raw = [s + d for s, d in zip(starts, deltas, strict=True)]
    seconds = time.perf_counter() - t0
    return [r.replace(tzinfo=None) for r in raw], seconds  # it returns "UTC": the naive wall time


def run_pandas(cal: Calendar, cases: Sequence[Case]) -> tuple[list[datetime], float]:
    import pandas as pd

    hol = belgian_dates(cal)
    offsets = {h: pd.offsets.CustomBusinessHour(n=h, start="09:00", end="18:00", holidays=hol)
               for h in {c.whole_hours for c in cases}}
    starts = [pd.Timestamp(c.start.replace(tzinfo=None)) for c in cases]
    offs = [offsets[c.whole_hours] for c in cases]
    t0 = time.perf_counter()
    raw = [s + o for s, o in zip(starts, offs, strict=True)]
    seconds = time.perf_counter() - t0
    return [r.to_pydatetime() for r in raw], seconds


# -- agreement ------------------------------------------------------------------------------------


def in_repeated_hour(t: datetime) -> bool:
    return t.replace(fold=0).utcoffset() != t.replace(fold=1).utcoffset()


@dataclass
class Disagreements:
    agree: int = 0
    agree_at_closing: int = 0
    checked: int = 0
    skipped: int = 0

    def __post_init__(self) -> None:
        self.classes: dict[str, list[tuple[timedelta, str]]] = {}

    def add(self, cls: str, d: timedelta, example: str) -> None:
        self.classes.setdefault(cls, []).append((d, example))


def fmt(t: datetime) -> str:
    return f"{t:%a %d %b %Y %H:%M}"


def fmt_d(d: timedelta) -> str:
    h, m = divmod(int(d.total_seconds()) // 60, 60)
    return f"{h} h {m:02d} min" if m else f"{h} h"


def compare(cal: Calendar, cases: Sequence[Case], durations: Sequence[timedelta],
            peer: Sequence[datetime]) -> Disagreements:
    out = Disagreements()
    for c, d, p_naive in zip(cases, durations, peer, strict=True):
        if in_repeated_hour(c.start):
            out.skipped += 1
            continue
        out.checked += 1
        e = cal.add(c.start, d)
        p = p_naive.replace(tzinfo=cal.tz)
        if e.replace(tzinfo=None) == p_naive:
            out.agree += 1
            out.agree_at_closing += (e.hour, e.minute) == (18, 0)
            continue
        where = f"{fmt(c.start)} + {fmt_d(d)}: engine {fmt(e)}, peer {fmt(p)}"
        wt_p = cal.working_time(c.start, p)
        if wt_p == d and p > e and cal.working_time(e, p) == timedelta(0):
            closing = e.astimezone(cal.tz).strftime("%H:%M") == "18:00"
            cls = ("target met exactly at closing time: peer answers the next opening"
                   if closing else "peer answers a later instant with the same working time")
            out.add(cls, d, f"{where} (working time to either is {fmt_d(d)}; the engine's is "
                            "earlier: engine right, add is the earliest such instant)")
        elif wt_p != d:
            out.add("peer's instant has the wrong working time", d,
                    f"{where} (working_time(start, peer) = {fmt_d(wt_p)}, "
                    f"working_time(start, engine) = {fmt_d(cal.working_time(c.start, e))})")
        else:
            out.add("unexplained", d, where)
    return out


def report_agreement(name: str, note: str, res: Disagreements) -> None:
    print(f"\n{name}: {note}")
    print(f"  checked {res.checked} cases ({res.skipped} skipped: start in the repeated "
          f"autumn hour), agree {res.agree} ({100 * res.agree / max(res.checked, 1):.2f}%), "
          f"{res.agree_at_closing} of them due exactly at closing time 18:00")
    if not res.classes:
        print("  no disagreements")
    for cls, examples in sorted(res.classes.items(), key=lambda kv: -len(kv[1])):
        print(f"  - {len(examples)} x {cls}")
        print(f"      e.g. {min(examples)[1]}")


# -- main -----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000, help="number of cases (default 100000)")
    ap.add_argument("--peer-sample", type=int, default=5_000,
                    help="peers run on the first M cases only (default 5000)")
    ap.add_argument("--seed", type=int, default=20260101)
    ap.add_argument("--repeat", type=int, default=3, help="engine timings: best of R runs")
    args = ap.parse_args(argv)

    cal = provider_calendar()
    cases = make_cases(cal, args.cases, args.seed)
    sample = cases[: args.peer_sample]
    n, m = len(cases), len(sample)
    t0 = time.perf_counter()
    cal.add(cases[0].start, cases[0].duration)
    t_first = time.perf_counter() - t0
    inside = sum(cal.working_time(c.start, c.start + timedelta(minutes=1)) > timedelta(0)
                 for c in cases)
    print("SLA add benchmark: Mon-Fri 09:00-18:00 Europe/Brussels + Belgian holidays")
    print(f"cases: {n} (seed {args.seed}), starts 2026-2027 at whole minutes "
          f"({100 * inside / max(n, 1):.1f}% inside a window), durations 1 min - 120 h")
    print(f"python {sys.version.split()[0]}")

    print(f"engine first call (builds the interval table): {1000 * t_first:.1f} ms, not timed "
          "below")

    starts = [c.start for c in cases]
    durs = [c.duration for c in cases]
    add = cal.add
    due: list[datetime] = []

    def engine_add() -> None:
        due[:] = [add(s, d) for s, d in zip(starts, durs, strict=True)]

    t_engine = best_time(engine_add, args.repeat)
    wt = cal.working_time
    t_wt = best_time(lambda: [wt(s, e) for s, e in zip(starts, due, strict=True)], args.repeat)
    bad = sum(wt(s, e) != d for s, e, d in zip(starts, due, durs, strict=True))
    print(f"engine self-check, working_time(s, add(s, d)) == d: "
          f"{'OK' if not bad else f'FAILED on {bad} cases'} ({n} cases)")

    btd_due, t_btd = run_businesstimedelta(cal, sample)
    pd_due, t_pd = run_pandas(cal, sample)

    engine_rate = ops_per_s(n, t_engine)
    rows = [
        ("engine add", n, engine_rate, f"all cases, best of {args.repeat}"),
        ("businesstimedelta", m, ops_per_s(m, t_btd), f"first {m} cases (slow), 1 run"),
        ("pandas CustomBusinessHour", m, ops_per_s(m, t_pd),
         f"first {m} cases (slow), 1 run, durations rounded to whole hours"),
        ("engine working_time", n, ops_per_s(n, t_wt), f"all cases, best of {args.repeat}"),
    ]
    print(f"\n{'implementation':<27}{'cases timed':>12}{'ops/s':>11}{'ratio to engine add':>24}"
          "  notes")
    for name, count, rate, note in rows:
        ratio = f"{rate / engine_rate:.4f}"
        if rate < engine_rate / 2:
            ratio += f" ({engine_rate / rate:,.0f}x slower)"
        print(f"{name:<27}{count:>12}{rate:>11,.0f}{ratio:>24}  {note}")
    met = "MET" if engine_rate >= TARGET_ADD_PER_S else "NOT MET"
    print(f"\ntarget >= {TARGET_ADD_PER_S:,} engine add/s: {met} ({engine_rate:,.0f}/s)")

    report_agreement("businesstimedelta", "same cases, naive local wall-clock times",
                     compare(cal, sample, [c.duration for c in sample], btd_due))
    report_agreement("pandas CustomBusinessHour",
                     "same starts, durations rounded to whole hours (min 1 h)",
                     compare(cal, sample, [timedelta(hours=c.whole_hours) for c in sample],
                             pd_due))
    print("\nDST: the windows (09:00-18:00) never contain a DST change, so naive wall-clock peers "
          "see the same windows as the engine; a peer on a 24/7 or night calendar would not.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
