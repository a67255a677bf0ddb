"""Working time on a service calendar: the heart of every SLA deadline.

``working_time(a, b)`` is the part of ``[a, b)`` that lies inside service windows on working days.
``add(start, d)`` is the earliest instant ``t >= start`` with ``working_time(start, t) == d``, so a
target met exactly at closing time is due at closing time, not at the next opening.

Windows are local wall-clock times in the calendar's zone; on DST change days a window counts the
real time that elapses in it (a 00:00-24:00 window lasts 23 or 25 hours). A wall time that does not
exist (in the spring-forward gap) maps to the instant just after the gap.

Speed: the windows of a span of years are laid out once as sorted UTC intervals (integer
microseconds) with a running total of working time, so both operations are two binary searches.
The span grows on demand; the table is swapped in as one tuple, so readers in other threads never
see half of it.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.sla.closed_days import WEEKDAYS, ClosedDays
from bot.sla.durations import WorkingDays

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = 1_000_000
_DAY_US = 86_400 * _US
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MAX_YEARS_AHEAD = 200

Window = tuple[int, int]
"""A service window as minutes after local midnight: ``(540, 1080)`` is 09:00-18:00; end <= 1440."""


def _to_us(dt: datetime) -> int:
    # timestamp() is exact to well under half a microsecond for any year before 2200, so rounding
    # gives the exact microsecond count; it is several times faster than timedelta arithmetic.
    if dt.tzinfo is None:
        raise ValueError(f"aware datetime required, got naive {dt.isoformat()}")
    return round(dt.timestamp() * 1e6)


def _from_us(us: int, tz: ZoneInfo) -> datetime:
    sec, micro = divmod(us, _US)
    dt = datetime.fromtimestamp(sec, tz)
    return dt.replace(microsecond=micro) if micro else dt


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def day_label(d: date) -> str:
    """``Thu 24 Dec``: locale-independent, as the explanations print it."""
    return f"{WEEKDAYS[d.weekday()].capitalize()} {d.day:02d} {_MONTHS[d.month - 1]}"


@dataclass(frozen=True)
class Step:
    """One line of an explanation: a counted stretch, or a day that was skipped and why."""

    kind: str  # "counted", "holiday", "closed", "weekend", "no-window"
    text: str
    counted: timedelta = timedelta(0)


@dataclass(frozen=True)
class Explanation:
    """The arithmetic behind a deadline, as a person can check it."""

    start: datetime
    duration: timedelta
    due: datetime
    steps: tuple[Step, ...]

    def __str__(self) -> str:
        return ", ".join(s.text for s in self.steps)


@dataclass(frozen=True)
class _Table:
    first_year: int
    last_year: int
    lo_us: int  # instants in [lo_us, hi_us) are covered: local midnight of 1 Jan first_year ...
    hi_us: int  # ... to local midnight of 1 Jan after last_year
    starts: list[int]
    ends: list[int]
    cum: list[int]  # cum[i]: working microseconds before interval i; len(cum) == len(starts) + 1


class Calendar:
    """A time zone, weekly service windows and closed days."""

    def __init__(
        self,
        timezone: str | ZoneInfo,
        windows: Mapping[int, Sequence[Window]],
        closed: ClosedDays | None = None,
        closed_windows: Mapping[date, Sequence[tuple[Window, str]]] | None = None,
    ) -> None:
        """``closed_windows``: parts of single dates closed (a company event's afternoon),
        each window with its name; the rest of that day is worked as usual."""
        self.tz = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
        self.windows: dict[int, tuple[Window, ...]] = {}
        for wd in range(7):
            ws = tuple(sorted(windows.get(wd, ())))
            for i, (s, e) in enumerate(ws):
                nxt = ws[i + 1] if i + 1 < len(ws) else None
                if not 0 <= s < e <= 1440:
                    raise ValueError(f"{WEEKDAYS[wd]}: window {hhmm(s)}-{hhmm(e)} "
                                     "is not a time span")
                if nxt is not None and nxt[0] < e:
                    raise ValueError(f"{WEEKDAYS[wd]}: windows {hhmm(s)}-{hhmm(e)} and "
                                     f"{hhmm(nxt[0])}-{hhmm(nxt[1])} overlap")
            self.windows[wd] = ws
        if not any(self.windows.values()):
            raise ValueError("a calendar needs at least one service window")
        self.closed = closed or ClosedDays()
        self.closed_windows = {d: tuple(sorted(ws)) for d, ws in (closed_windows or {}).items()}
        self._table: _Table | None = None
        self._lock = threading.Lock()

    # -- what a day looks like -------------------------------------------------------------

    def closed_reason(self, d: date) -> str | None:
        """The name of the holiday or closure on local date ``d``, or None on an ordinary day."""
        return self.closed.name_of(d)

    def is_working_day(self, d: date) -> bool:
        return bool(self.windows[d.weekday()]) and self.closed_reason(d) is None

    def day_intervals(self, d: date) -> list[tuple[datetime, datetime]]:
        """The service windows of local date ``d`` as aware UTC instants (none on closed days).

        UTC, because Python compares and subtracts datetimes that share a zone by wall clock.
        """
        if not self.is_working_day(d):
            return []
        out = []
        for s, e in _minus(self.windows[d.weekday()], self.closed_windows.get(d, ())):
            a = self._local(d, s).astimezone(UTC)
            b = self._local(d, e).astimezone(UTC)
            if b > a:
                out.append((a, b))
        return out

    def _local(self, d: date, minutes: int) -> datetime:
        """The instant of wall time ``minutes`` on local date ``d`` (1440: the next midnight).

        An ambiguous wall time (autumn) is its first occurrence; one that does not exist (in the
        spring-forward gap) is the first instant after the gap.
        """
        if minutes == 1440:
            d, minutes = d + timedelta(days=1), 0
        naive = datetime(d.year, d.month, d.day, minutes // 60, minutes % 60)  # noqa: DTZ001 (a wall time)
        dt = naive.replace(tzinfo=self.tz)
        if dt.astimezone(UTC).astimezone(self.tz).replace(tzinfo=None) == naive:
            return dt
        # In the gap: fold=1 reads it with the offset after the change (an instant before the
        # gap), fold=0 with the offset before it (after the gap). Find the first whole second
        # between them whose wall time has reached `naive`: that is the transition.
        lo = int(dt.replace(fold=1).timestamp())
        hi = int(dt.timestamp())
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if datetime.fromtimestamp(mid, self.tz).replace(tzinfo=None) >= naive:
                hi = mid
            else:
                lo = mid
        return datetime.fromtimestamp(hi, self.tz)

    # -- the interval table ---------------------------------------------------------------

    def _build(self, first_year: int, last_year: int) -> _Table:
        starts: list[int] = []
        ends: list[int] = []
        d = date(first_year, 1, 1)
        stop = date(last_year + 1, 1, 1)
        one = timedelta(days=1)
        while d < stop:
            for a, b in self.day_intervals(d):
                s, e = _to_us(a), _to_us(b)
                if ends and s <= ends[-1]:  # touching windows (24/7) merge into one
                    ends[-1] = max(ends[-1], e)
                else:
                    starts.append(s)
                    ends.append(e)
            d += one
        cum = [0]
        for s, e in zip(starts, ends, strict=True):
            cum.append(cum[-1] + e - s)
        lo = _to_us(self._local(date(first_year, 1, 1), 0))
        hi = _to_us(self._local(stop, 0))
        return _Table(first_year, last_year, lo, hi, starts, ends, cum)

    def _covering(self, first_year: int, last_year: int) -> _Table:
        t = self._table
        if t is not None and t.first_year <= first_year and last_year <= t.last_year:
            return t
        with self._lock:
            t = self._table
            lo, hi = first_year, last_year
            if t is not None:
                lo, hi = min(lo, t.first_year), max(hi, t.last_year)
            if t is None or lo < t.first_year or hi > t.last_year:
                if t is not None and hi > t.last_year:
                    hi = max(hi, t.last_year + 2)  # grow forward in steps, not a year at a time
                t = self._build(lo, hi)
                self._table = t
            return t

    def _table_for(self, lo: int, hi: int) -> _Table:
        t = self._table
        if t is not None and t.lo_us <= lo and hi < t.hi_us:
            return t
        # local dates can sit a day either side of the UTC date: cover one year more each way
        first = (_EPOCH + timedelta(microseconds=lo)).year - 1
        last = (_EPOCH + timedelta(microseconds=hi)).year + 1
        return self._covering(first, last)

    @staticmethod
    def _worked_until(t: _Table, u: int) -> int:
        i = bisect_right(t.starts, u) - 1
        if i < 0:
            return 0
        if u < t.ends[i]:
            return t.cum[i] + u - t.starts[i]
        return t.cum[i + 1]

    # -- the public operations --------------------------------------------------------------

    def working_time(self, a: datetime, b: datetime) -> timedelta:
        """Working time inside ``[a, b)``; zero when ``b <= a``."""
        ua, ub = _to_us(a), _to_us(b)
        if ub <= ua:
            return timedelta(0)
        t = self._table_for(ua, ub)
        return timedelta(microseconds=self._worked_until(t, ub) - self._worked_until(t, ua))

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant ``t >= start`` with ``working_time(start, t) == duration``.

        The result is in the calendar's time zone.
        """
        us = _to_us(start)
        d = (duration.days * 86_400 + duration.seconds) * _US + duration.microseconds
        if d < 0:
            raise ValueError(f"negative duration {duration}")
        if d == 0:
            return start.astimezone(self.tz)
        t = self._table_for(us, us)
        target = self._worked_until(t, us) + d
        while True:
            # the first interval whose running total reaches the target
            j = bisect_left(t.cum, target, 1) - 1
            if j < len(t.starts):
                return _from_us(t.starts[j] + (target - t.cum[j]), self.tz)
            if t.hi_us - us > _MAX_YEARS_AHEAD * 366 * _DAY_US:
                raise ValueError(f"{duration} of working time does not fit in "
                                 f"{_MAX_YEARS_AHEAD} years")
            t = self._covering(t.first_year, t.last_year + 2)
            # another thread may have grown the table backwards, shifting every running total
            target = self._worked_until(t, us) + d

    def add_working_days(self, start: datetime, wd: WorkingDays | int) -> datetime:
        """Close of the n-th working day after the local date of ``start`` (not counted)."""
        n = wd.days if isinstance(wd, WorkingDays) else wd
        if n <= 0:
            raise ValueError("working days must be more than zero")
        d = start.astimezone(self.tz).date()
        for _ in range(_MAX_YEARS_AHEAD * 366):
            d += timedelta(days=1)
            if self.is_working_day(d) and self.day_intervals(d):
                n -= 1
                if n == 0:
                    return self.day_intervals(d)[-1][1]
        raise ValueError("no working day found")

    def due(self, start: datetime, target: timedelta | WorkingDays) -> datetime:
        """``add`` for working time, ``add_working_days`` for a count of working days."""
        if isinstance(target, WorkingDays):
            return self.add_working_days(start, target)
        return self.add(start, target)

    def explain(self, start: datetime, duration: timedelta) -> Explanation:
        """Why ``add(start, duration)`` is what it is: counted stretches and skipped days."""
        due = self.add(start, duration).astimezone(UTC)
        start = start.astimezone(UTC)
        steps: list[Step] = []
        d0 = start.astimezone(self.tz).date()
        d1 = due.astimezone(self.tz).date()
        for d in _dates(d0, d1):
            if not self.windows[d.weekday()]:
                kind = "weekend" if d.weekday() >= 5 else "no-window"
                text = "weekend" if kind == "weekend" else f"no service on {day_label(d)}"
                if not (steps and steps[-1].text == text):
                    steps.append(Step(kind, text))
                continue
            reason = self.closed_reason(d)
            if reason is not None:
                steps.append(Step("holiday", f"skipped {reason} (holiday)"))
                continue
            day: list[tuple[datetime, Step]] = [
                (self._local(d, cs), Step("closed", f"skipped {hhmm(cs)}–{hhmm(ce)} "
                                          f"{day_label(d)} ({name})"))
                for (cs, ce), name in self.closed_windows.get(d, ())
                if start < self._local(d, ce) and self._local(d, cs) < due]
            for a, b in self.day_intervals(d):
                lo, hi = max(a, start), min(b, due)
                if hi > lo:
                    lo_l, hi_l = lo.astimezone(self.tz), hi.astimezone(self.tz)
                    end = "24:00" if hi_l.date() > d else f"{hi_l:%H:%M}"
                    day.append((lo, Step("counted", f"counted {lo_l:%H:%M}–{end} "
                                         f"{day_label(d)}", hi - lo)))
            steps += [step for _, step in sorted(day, key=lambda x: x[0])]
        return Explanation(start, duration, due, tuple(steps))


def _minus(windows: Sequence[Window], closed: Sequence[tuple[Window, str]]) -> list[Window]:
    """``windows`` less the ``closed`` spans (minutes of the day)."""
    out = list(windows)
    for (cs, ce), _name in closed:
        out = [part for s, e in out for part in ((s, min(e, cs)), (max(s, ce), e))
               if part[1] > part[0]]
    return out


def _dates(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)
