"""Availability over a period, for policies with ``[availability] target``. Pure.

The service is down while a P1 ticket is open: from its registration to its first resolution
(or closing), unless staff corrected that interval with an ``outage_corrected`` event (the last
correction wins, even one made after the period ended; it may also say the ticket was no
outage at all). Announced maintenance
windows of the client are left out of both the time measured and the downtime:

    availability = 1 - (down time outside maintenance) / (period time outside maintenance)

over ``[period start, as_of)``, so a provisional report measures the period so far.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.errors import InvalidAction
from bot.model import Event, EventKind
from bot.priority import Priority
from bot.ticket import Ticket

OUTAGE_PRIORITY = Priority.P1
Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Outage:
    reference: str
    start: datetime
    end: datetime | None  # None: still down at the report's instant
    corrected: bool = False


@dataclass(frozen=True)
class Availability:
    target: float
    measured: timedelta  # the period so far, less maintenance
    maintenance: timedelta  # maintenance inside the period so far
    down: timedelta  # outage time outside maintenance
    outages: tuple[Outage, ...]

    @property
    def share(self) -> float:
        if self.measured <= timedelta(0):
            return 1.0
        return 1 - self.down / self.measured

    @property
    def meets_target(self) -> bool:
        return self.share >= self.target


def correction_data(start: datetime | None, end: datetime | None, *, none: bool,
                    reason: str) -> dict[str, Any]:
    """The data of an ``outage_corrected`` event, checked."""
    if not reason.strip():
        raise InvalidAction("an outage correction needs a reason")
    if none:
        if start is not None or end is not None:
            raise InvalidAction("an outage is either corrected to an interval or to none")
        return {"none": True, "reason": reason}
    if start is None or end is None:
        raise InvalidAction("an outage correction needs its start and end (or none)")
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidAction("outage start and end need a time zone")
    if end <= start:
        raise InvalidAction("an outage must end after it starts")
    return {"start": start.isoformat(), "end": end.isoformat(), "reason": reason}


def outage_of(ticket: Ticket, events: Sequence[Event], priority: Priority) -> Outage | None:
    """The ticket's outage from its events up to the report's instant (oldest first), and
    the last staff correction whenever it was made: a correction is about the past, so it
    applies to the reports of periods that are over too."""
    fixes = sorted((e for e in ticket.events if e.kind == EventKind.OUTAGE_CORRECTED),
                   key=lambda e: (e.at, e.id or 0))
    fix = fixes[-1] if fixes else None
    if fix is not None:
        if fix.data.get("none"):
            return None
        return Outage(ticket.reference, datetime.fromisoformat(fix.data["start"]),
                      datetime.fromisoformat(fix.data["end"]), corrected=True)
    if priority != OUTAGE_PRIORITY:
        return None
    end = next((e.at for e in events
                if e.kind in (EventKind.RESOLVED, EventKind.CLOSED)), None)
    return Outage(ticket.reference, ticket.created_at, end)


def _union(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(i for i in intervals if i[1] > i[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _total(intervals: Iterable[Interval]) -> timedelta:
    return sum((b - a for a, b in intervals), timedelta(0))


def _clip(intervals: Iterable[Interval], a: datetime, b: datetime) -> list[Interval]:
    return [(max(x, a), min(y, b)) for x, y in intervals if y > a and x < b]


def _minus(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in intervals:
        cur = a
        for h0, h1 in holes:
            if h1 <= cur or h0 >= b:
                continue
            if h0 > cur:
                out.append((cur, h0))
            cur = max(cur, h1)
        if cur < b:
            out.append((cur, b))
    return out


def compute_availability(target: float, outages: Sequence[Outage],
                         maintenance: Iterable[Interval], start: datetime,
                         as_of: datetime) -> Availability:
    windows = _union(_clip(maintenance, start, as_of))
    spans = _union(_clip(((o.start, o.end or as_of) for o in outages), start, as_of))
    down = _minus(spans, windows)
    return Availability(target, (as_of - start) - _total(windows), _total(windows),
                        _total(down), tuple(sorted(outages, key=lambda o: o.start)))


__all__ = [
    "OUTAGE_PRIORITY",
    "Availability",
    "Outage",
    "compute_availability",
    "correction_data",
    "outage_of",
]
