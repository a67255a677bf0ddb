"""The staff queue: open tickets, most urgent first, with the filters and search of the
dashboard. Pure: it orders ticket views that the caller derived at one instant.

A ticket's urgency is its most urgent *open* clock (started, not stopped): the one with the
least working time left (negative once breached). Tickets with no open clock come last,
newest first. Working time left, not the due instant, orders the queue: a clock on a 24/7
policy and one on office hours compare by the work that can still be done before each runs out.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.clocks import ClockState
from bot.ticket import Ticket
from bot.views import TicketView

AT_RISK_SHARE = 0.25
"""A running clock with less than this share of its target left is at risk."""


class Urgency(StrEnum):
    BREACHED = "breached"
    AT_RISK = "at-risk"
    RUNNING = "running"
    PAUSED = "paused"
    IDLE = "idle"  # no open clock (all met or not started)


@dataclass(frozen=True)
class QueueFilter:
    """What the staff member narrowed the queue to; empty fields match everything."""

    client: str = ""
    priority: str = ""
    assignee: str = ""
    """A staff name, or ``-`` for tickets nobody has."""
    status: str = ""
    channel: str = ""
    search: str = ""
    """Part of the reference, subject or requester (any case)."""

    def matches(self, view: TicketView) -> bool:
        t = view.ticket
        if self.client and (t.client_name or "-") != self.client:
            return False
        if self.priority and t.priority.value != self.priority:
            return False
        if self.assignee and (t.assignee or "-") != self.assignee:
            return False
        if self.status and t.status.value != self.status:
            return False
        if self.channel and t.channel.value != self.channel:
            return False
        if self.search:
            needle = self.search.strip().lower()
            hay = (t.reference.lower(), t.subject.lower(), (t.requester or "").lower())
            if not any(needle in h for h in hay):
                return False
        return True


@dataclass(frozen=True)
class QueueEntry:
    view: TicketView
    clock: ClockState | None
    """The most urgent open clock (None: no open clock)."""
    urgency: Urgency

    @property
    def left(self) -> timedelta | None:
        return self.clock.left if self.clock is not None else None


def most_urgent(view: TicketView) -> ClockState | None:
    """The open clock with the least working time left; a counting clock before a paused one
    with the same time left."""
    open_clocks = [c for c in view.clocks.values() if c.open]
    return min(open_clocks, key=lambda c: (c.left, not c.running), default=None)


def urgency(clock: ClockState | None, share: float = AT_RISK_SHARE) -> Urgency:
    if clock is None:
        return Urgency.IDLE
    if clock.breached:
        return Urgency.BREACHED
    if not clock.running:
        return Urgency.PAUSED
    if clock.left <= clock.target * share:
        return Urgency.AT_RISK
    return Urgency.RUNNING


def entry(view: TicketView) -> QueueEntry:
    c = most_urgent(view)
    return QueueEntry(view, c, urgency(c))


def _key(left: timedelta | None, t: Ticket) -> tuple[int, float, float, int]:
    """Least working time left first, then the oldest; no open clock last, newest first."""
    if left is None:
        return (1, 0.0, -t.created_at.timestamp(), -(t.id or 0))
    return (0, left.total_seconds(), t.created_at.timestamp(), t.id or 0)


def _order(e: QueueEntry) -> tuple[int, float, float, int]:
    return _key(e.left, e.view.ticket)


@dataclass(frozen=True)
class Queue:
    entries: Sequence[QueueEntry]
    """The first ``limit`` matching tickets, most urgent first."""
    matched: int
    """How many tickets matched the filter (``entries`` may show fewer)."""
    breached: int
    at_risk: int
    now: datetime


def build_queue(views: Iterable[TicketView], now: datetime, flt: QueueFilter = QueueFilter(),
                limit: int = 200) -> Queue:
    """The open tickets of ``views`` that match ``flt``, most urgent first, at most
    ``limit`` of them, with the counts of all that matched."""
    entries = [entry(v) for v in views if v.ticket.active and flt.matches(v)]
    entries.sort(key=_order)
    breached = sum(e.urgency == Urgency.BREACHED for e in entries)
    at_risk = sum(e.urgency == Urgency.AT_RISK for e in entries)
    return Queue(entries[:limit], len(entries), breached, at_risk, now)


# -- the same queue from clocks derived earlier ------------------------------------------------


class Snapshot:
    """A ticket's view derived at ``view.now``, kept until the ticket changes. Between two
    events nothing but time moves its clocks: a counting clock has used the working time
    since then on top, the others stand still. So its standing at a later instant needs the
    working time since the snapshot (the same for every snapshot of one policy taken at one
    instant), not a new derivation from the log."""

    __slots__ = ("clocks", "created", "view")

    def __init__(self, view: TicketView) -> None:
        self.view = view
        self.clocks = tuple((c.left, c.running, c.breached, c.target)
                            for c in view.clocks.values() if c.open)
        """The open clocks: (left, counting, breached, target) at ``view.now``."""
        self.created = view.ticket.created_at.timestamp()

    def standing(self, elapsed: timedelta,
                 share: float = AT_RISK_SHARE) -> tuple[timedelta | None, Urgency]:
        """The most urgent open clock's working time left once ``elapsed`` working time has
        passed since the snapshot, and the urgency."""
        best: tuple[timedelta, bool, bool, timedelta] | None = None
        for left, running, breached, target in self.clocks:
            if running:
                left -= elapsed
            if best is None or (left, not running) < (best[0], not best[1]):
                best = (left, running, breached, target)
        if best is None:
            return None, Urgency.IDLE
        left, running, breached, target = best
        if breached or (running and left < timedelta(0)):
            return left, Urgency.BREACHED
        if not running:
            return left, Urgency.PAUSED
        return left, Urgency.AT_RISK if left <= target * share else Urgency.RUNNING


def queue_from_snapshots(snapshots: Iterable[Snapshot], now: datetime,
                         derive: Callable[[TicketView], TicketView],
                         flt: QueueFilter = QueueFilter(), limit: int = 200) -> Queue:
    """``build_queue`` for tickets whose views were derived earlier: ranked by their standing
    at ``now``; only the ``limit`` shown are derived again at ``now`` (``derive``), so what
    they show is exact."""
    ranked: list[tuple[tuple[int, float, float, int], Snapshot]] = []
    breached = at_risk = 0
    elapsed: dict[tuple[int, datetime], timedelta] = {}
    everything = flt == QueueFilter()
    for s in snapshots:
        v = s.view
        t = v.ticket
        if not (t.active and (everything or flt.matches(v))):
            continue
        cal = v.policy.calendar
        since = elapsed.get((id(cal), v.now))
        if since is None:
            since = elapsed[(id(cal), v.now)] = cal.working_time(v.now, now)
        left, u = s.standing(since)
        breached += u == Urgency.BREACHED
        at_risk += u == Urgency.AT_RISK
        key = (1, 0.0, -s.created, -(t.id or 0)) if left is None else \
            (0, left.total_seconds(), s.created, t.id or 0)
        ranked.append((key, s))
    top = heapq.nsmallest(limit, ranked, key=lambda r: r[0])
    entries = sorted((entry(derive(s.view)) for _, s in top), key=_order)
    return Queue(entries, len(ranked), breached, at_risk, now)
