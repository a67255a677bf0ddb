"""The open tickets, kept in memory between requests and brought up to date from the event
log: what the queue page and ``/metrics`` read instead of loading and deriving every open
ticket on each request.

Every change to a ticket appends to the event log (``bot/ticket.py``), whichever process made
it, so the tickets with events newer than the last one seen are the ones to read again. Ids
are handed out before commit, so a transaction may commit an id below one seen already: each
refresh reads the last ``LOOK_BACK`` ids (and takes those it had not seen), and the whole set
is read again every ``full_every`` seconds."""

from __future__ import annotations

import bisect
import gc
import threading
import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from adapters.storage import Database, UnitOfWorks
from adapters.storage.tables import ClientRow, EventRow, TicketRow
from bot.change_requests import ticket_clocks
from bot.clock import Clock
from bot.clocks import ClockStatus
from bot.policies import PolicyBook
from bot.queue import Snapshot
from bot.sla.policy import Policy
from bot.ticket import Ticket
from bot.views import ACTIVE, TicketView

LOOK_BACK = 100
"""Event ids read again at each refresh (a transaction that committed late)."""


class OpenTickets:
    """A snapshot per open ticket; ``snapshots()`` refreshes first. Thread-safe."""

    def __init__(self, uow: UnitOfWorks, clock: Clock, policies: PolicyBook, *,
                 full_every: float = 300.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.uow = uow
        self.db: Database = uow.db
        self.clock = clock
        self.policies = policies
        self.full_every = full_every
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._by_id: dict[int, Snapshot] = {}
        self._counts: dict[tuple[str, str], int] = {}
        """Clocks of the snapshots by (clock, status) as derived."""
        self._due: dict[str, list[float]] = {}
        """Per clock, the due instants (POSIX) of the counting clocks not breached yet,
        sorted: those past at a scrape are breached by then."""
        self._last = -1
        self._seen: set[int] = set()
        """Event ids of the look-back window already taken into account."""
        self._full_at = 0.0
        self.reads = 0
        """Tickets read from storage so far (full loads and refreshes)."""

    def view(self, t: Ticket, now: datetime,
             policies: dict[str, Policy] | None = None) -> TicketView:
        """``t`` derived at ``now``; ``policies``: those looked up already in this pass (a
        policy file is looked for on disk at each ``PolicyBook.get``)."""
        known = {} if policies is None else policies
        policy = known.get(t.policy)
        if policy is None:
            policy = known[t.policy] = self.policies.get(t.policy)
        return TicketView(t, policy, ticket_clocks(policy, t, now), now)

    def derive(self, v: TicketView) -> TicketView:
        """``v``'s ticket derived again (under the same policy) at the clock's now."""
        now = self.clock.now()
        return TicketView(v.ticket, v.policy, ticket_clocks(v.policy, v.ticket, now), now)

    def snapshots(self) -> list[Snapshot]:
        with self._lock:
            self._sync()
            return list(self._by_id.values())

    def _sync(self) -> None:
        if self._last < 0 or self._monotonic() - self._full_at >= self.full_every:
            self._load_all(last_event_id(self.db))
        else:
            self._refresh()

    def _put(self, snap: Snapshot, *, sort: bool = True) -> None:
        """Keep ``snap`` (in place of the ticket's last); ``sort=False`` appends the due
        instants unsorted (a full load sorts them once at the end)."""
        tid = snap.view.ticket.id
        assert tid is not None
        self._drop(tid)
        self._by_id[tid] = snap
        for c in snap.view.clocks.values():
            key = (c.name, c.status.value)
            self._counts[key] = self._counts.get(key, 0) + 1
            if c.status == ClockStatus.RUNNING and c.due is not None:
                dues = self._due.setdefault(c.name, [])
                if sort:
                    bisect.insort(dues, c.due.timestamp())
                else:
                    dues.append(c.due.timestamp())

    def _drop(self, tid: int) -> None:
        snap = self._by_id.pop(tid, None)
        if snap is None:
            return
        for c in snap.view.clocks.values():
            self._counts[(c.name, c.status.value)] -= 1
            if c.status == ClockStatus.RUNNING and c.due is not None:
                dues = self._due[c.name]
                del dues[bisect.bisect_left(dues, c.due.timestamp())]

    def _load_all(self, newest: int) -> None:
        """Read every open ticket. The snapshots live until the next full load: they are
        frozen out of the garbage collector's sight (``gc.freeze``), whose full passes over
        a hundred thousand tickets' objects would otherwise stall a request now and then."""
        gc.unfreeze()  # the previous load's snapshots can be collected again
        now = self.clock.now()
        with self.uow.reader() as uow:
            tickets = uow.tickets.list(statuses=ACTIVE, limit=100_000_000)
            self._seen = set(uow.session.exec(select(EventRow.id).where(
                col(EventRow.id) > newest - LOOK_BACK, col(EventRow.id) <= newest)))
        self._by_id, self._counts, self._due = {}, {}, {}
        known: dict[str, Policy] = {}
        for t in tickets:
            if t.id is not None:
                self._put(Snapshot(self.view(t, now, known)), sort=False)
        for dues in self._due.values():
            dues.sort()
        self.reads += len(tickets)
        self._last, self._full_at = newest, self._monotonic()
        del tickets
        gc.collect()
        gc.freeze()

    def _refresh(self) -> None:
        """Read again the tickets of the events of the window not seen yet (a late commit
        below the newest id seen included)."""
        now = self.clock.now()
        with self.uow.reader() as uow:
            window = list(uow.session.exec(select(EventRow.id, EventRow.ticket_id).where(
                col(EventRow.id) > self._last - LOOK_BACK)))
            ids = {tid for eid, tid in window if eid not in self._seen}
            tickets = _tickets(uow, ids)
        self._seen = {eid for eid, _ in window}
        if not ids:
            return
        for tid in ids:
            self._drop(tid)
        known: dict[str, Policy] = {}
        for t in tickets:
            if t.active and t.id is not None:
                self._put(Snapshot(self.view(t, now, known)))
        self.reads += len(tickets)
        self._last = max(self._last, *self._seen)

    # -- what /metrics reads ---------------------------------------------------------------

    def clock_counts(self, now: datetime) -> tuple[int, dict[tuple[str, str], int]]:
        """Open tickets, and their clocks by (clock, status) at ``now``: a clock counting
        when its snapshot was taken is breached once its due instant has passed. Kept as
        the snapshots come and go, so a scrape costs a bisection per clock name."""
        with self._lock:
            self._sync()
            counts = {k: n for k, n in self._counts.items() if n}
            at = now.timestamp()
            for name, dues in self._due.items():
                late = bisect.bisect_left(dues, at)  # how many were due before now
                if late:
                    running = (name, ClockStatus.RUNNING.value)
                    counts[running] -= late
                    breached = (name, ClockStatus.BREACHED.value)
                    counts[breached] = counts.get(breached, 0) + late
                    if not counts[running]:
                        del counts[running]
            return len(self._by_id), counts

def last_event_id(db: Database) -> int:
    with db.session() as s:
        return int(s.exec(select(func.max(EventRow.id))).one() or 0)


def _tickets(uow: object, ids: Collection[int]) -> Iterable[Ticket]:
    """The tickets of ``ids``, their events read in bulk (500 ids a statement)."""
    out: list[Ticket] = []
    wanted = sorted(set(ids))
    for k in range(0, len(wanted), 500):
        rows = list(uow.session.exec(  # type: ignore[attr-defined]
            select(TicketRow, ClientRow.name).outerjoin(
                ClientRow, col(ClientRow.id) == col(TicketRow.client_id)).where(
                col(TicketRow.id).in_(wanted[k:k + 500]))
            .execution_options(populate_existing=True)))
        out += uow.tickets.from_rows(rows)  # type: ignore[attr-defined]
    return out
