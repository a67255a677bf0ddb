"""The reminder engine: keeps each open ticket's next reminder instant, and at those instants
asks the planner (``bot.reminders``) what is due, claims it in the database, then delivers it.

The database is the source of truth: the in-memory schedule is rebuilt from the open tickets at
start (a few bulk queries per 5,000 tickets) and corrected from re-plan requests, so losing it
loses nothing. One wake-up instant serves every ticket (a heap), not one job per reminder.

Delivery is at least once per sink, at most once per reminder key: a reminder is recorded as
claimed (committed) before any sink sees it, and each sink that delivered it is recorded after.
A restart or a second instance finds the key and never sends it again. If the process dies
between the claim and the last sink, the claim is left unfinished; whoever runs the scheduler
next delivers it (marked late, ``data["redelivery"]``) to the sinks not recorded as done, unless
it no longer applies (clock met or paused, priority changed, ticket closed): then it is skipped
with that reason. Only the sink in flight at the crash can see it twice.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from adapters.storage import UnitOfWorks
from adapters.storage.reminders import OpenTicket, ReminderStore, Unfinished
from bot.alerts import Alert, AlertSink
from bot.change_requests import clock_specs, ticket_clocks
from bot.clock import Clock
from bot.errors import PolicyError
from bot.model import TicketStatus, reference_of
from bot.policies import PolicyBook
from bot.priority import Priority
from bot.reminders import NOTHING, Reminder, build_alert, decide, earliest, plan_ticket
from bot.sla.policy import Policy
from bot.ticket import Ticket

log = logging.getLogger("supportbot.reminders")

RETRY = (30, 120, 600, 1800)
"""Seconds before each retry of a failed delivery; after the last, the reminder is ``failed``."""
_OPEN = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PAUSED)


@dataclass(frozen=True)
class Plan:
    tickets: int
    sent: int
    skipped: int


class ReminderEngine:
    """Not thread-safe: one caller at a time (``ReminderLoop`` serialises its jobs)."""

    def __init__(self, uow: UnitOfWorks, clock: Clock, policies: PolicyBook,
                 sinks: Sequence[AlertSink], *, store: ReminderStore | None = None) -> None:
        self.uow = uow
        self.clock = clock
        self.policies = policies
        self.sinks = list(sinks)
        self.store = store or ReminderStore(uow.db)
        self._heap: list[tuple[datetime, int]] = []
        self._next: dict[int, datetime] = {}
        self._by_policy: dict[str, set[int]] = {}
        self._versions: dict[str, str] = {}
        self._bad_policies: set[str] = set()
        self.sent: Callable[[datetime, datetime], None] | None = None
        """Told of each reminder delivered: when it was due and when it went out
        (``supportbot run`` observes its lateness into ``/metrics``)."""

    # -- the schedule ------------------------------------------------------------------------

    def clear(self) -> None:
        self._heap.clear()
        self._next.clear()
        self._by_policy.clear()
        self._versions.clear()

    def scheduled(self) -> int:
        """Open tickets with a reminder ahead."""
        return len(self._next)

    def next_wakeup(self) -> datetime | None:
        while self._heap and self._next.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)  # superseded by a later re-plan
        return self._heap[0][0] if self._heap else None

    def rebuild(self, *, precise: bool = False) -> Plan:
        """Plan every open ticket from the database. What was due while no scheduler ran goes
        out now, marked late. ``precise``: no wall-clock lower bounds (for comparison)."""
        self.clear()
        return self._plan(self.store.open_tickets(), missed=True, rough=not precise)

    def replan(self, ids: Collection[int]) -> Plan:
        """Plan these tickets again from the database (closed ones drop out)."""
        if not ids:
            return Plan(0, 0, 0)
        for tid in ids:
            self._next.pop(tid, None)
            for members in self._by_policy.values():
                members.discard(tid)  # added back below if still open
        return self._plan(self.store.open_tickets(ids))

    def run_due(self) -> Plan:
        """Deliver what is due now: the tickets whose instant has come are planned again."""
        now = self.clock.now()
        due: set[int] = set()
        while (top := self.next_wakeup()) is not None and top <= now:
            _, tid = heapq.heappop(self._heap)
            due.add(tid)
        return self.replan(due)

    def poll(self, *, check_policies: bool = True) -> Plan:
        """Take re-plan requests (and tickets whose policy file changed), retry unfinished
        deliveries whose time has come."""
        self.resume()
        ids = self.store.take_replans()
        if check_policies:
            ids |= self._policy_changes()
        return self.replan(ids)

    # -- internals ---------------------------------------------------------------------------

    def _policy(self, name: str, cache: dict[str, Policy | None]) -> Policy | None:
        if name not in cache:
            try:
                cache[name] = self.policies.get(name)
                self._bad_policies.discard(name)
            except PolicyError as e:
                cache[name] = None
                if name not in self._bad_policies:
                    self._bad_policies.add(name)
                    log.error("policy does not load: its tickets keep their last plan",
                              extra={"policy": name, "error": str(e)})
        return cache[name]

    def _policy_changes(self) -> set[int]:
        changed: set[int] = set()
        cache: dict[str, Policy | None] = {}
        for name, ids in self._by_policy.items():
            p = self._policy(name, cache)
            if p is not None and self._versions.get(name) not in (None, p.version):
                log.info("policy changed: re-planning its tickets",
                         extra={"policy": name, "version": p.version, "tickets": len(ids)})
                changed |= ids
        return changed

    def _plan(self, batches: Iterable[list[OpenTicket]], *, missed: bool = False,
              rough: bool = False) -> Plan:
        """Plan ``batches``. ``rough``: a ticket where nothing can be due yet gets a wall-clock
        lower bound instead (``earliest``), planned precisely when that instant comes."""
        cache: dict[str, Policy | None] = {}
        tickets = sent = skipped = 0
        for batch in batches:
            now = self.clock.now()
            sends: list[tuple[Reminder, OpenTicket]] = []
            skips: list[tuple[Reminder, str]] = []
            for t in batch:
                tickets += 1
                policy = self._policy(t.policy, cache)
                if policy is None:
                    continue
                self._versions[t.policy] = policy.version
                self._by_policy.setdefault(t.policy, set()).add(t.id)
                specs = clock_specs(policy, t.kind, t.created_at or now)
                if rough:
                    bound = earliest(reference_of(t.id), t.priority, policy, t.events, t.done,
                                     now, specs=specs)
                    if bound == NOTHING:
                        continue
                    if isinstance(bound, datetime):
                        self._next[t.id] = bound
                        heapq.heappush(self._heap, (bound, t.id))
                        continue
                planned = plan_ticket(t.id, reference_of(t.id), t.priority, policy, t.events,
                                      now, specs=specs, done=t.done)
                d = decide(planned, t.done, now)
                sends += [(r, t) for r in d.send]
                skips += d.skip
                if d.next_at is not None:
                    self._next[t.id] = d.next_at
                    heapq.heappush(self._heap, (d.next_at, t.id))
                else:
                    self._next.pop(t.id, None)
            if skips:
                self.store.skip(skips, now)
                skipped += len(skips)
            if sends:
                sent += self._send(sends, now, missed=missed)
        return Plan(tickets, sent, skipped)

    def _send(self, sends: Sequence[tuple[Reminder, OpenTicket]], now: datetime, *,
              missed: bool) -> int:
        claimed = self.store.claim([r for r, _ in sends], now)
        self.store.describe([t for r, t in sends if r.key in claimed])
        outcomes = []
        for r, t in sends:
            if r.key not in claimed:
                continue  # recorded already: by another instance, or before a restart
            outcome = self._deliver_one(r, (), 0, now, redelivery=False, ticket=t.ticket(),
                                        late=True if missed and r.due_at < now else None)
            if outcome is not None:
                outcomes.append(outcome)
        self.store.finish(outcomes)
        return len(claimed)

    def _load(self, ticket_id: int) -> Ticket | None:
        with self.uow.reader() as uow:
            return uow.tickets.get(ticket_id)

    def _deliver_one(self, r: Reminder, done: tuple[str, ...], attempts: int, now: datetime,
                     *, redelivery: bool, late: bool | None = None,
                     ticket: Ticket | None = None) -> dict[str, Any] | None:
        t = ticket or self._load(r.ticket_id)
        policy = self.policies.get(t.policy) if t is not None else None
        state = None
        if t is not None and policy is not None:
            state = ticket_clocks(policy, t, now).get(r.clock)
        why = None
        if t is None or policy is None or state is None:
            why = "no longer applies: the ticket or its clock is gone"
        elif t.status not in _OPEN:
            why = f"no longer applies: the ticket is {t.status}"
        elif not state.running:
            why = f"no longer applies: the {r.clock} clock is {state.status}"
        elif t.priority != r.priority:
            why = f"no longer applies: the ticket is {t.priority} now"
        base = {"k": r.key, "text": "", "late": r.late(now), "attempts": attempts,
                "next_attempt_at": None, "last_error": "", "sent_at": None,
                "sinks_done": list(done), "reason": ""}
        if why is not None:
            log.info("reminder skipped", extra={"key": r.key, "reason": why})
            return {**base, "state": "skipped", "reason": why}
        assert t is not None and policy is not None and state is not None
        alert = build_alert(r, t, policy, state, now, late=True if redelivery else late)
        if redelivery:
            alert = replace(alert, data={**alert.data, "redelivery": True})
        finished, errors = self._to_sinks(alert, list(done))
        base.update(text=alert.text, late=alert.late, sinks_done=finished)
        if not errors:
            sent_at = self.clock.now()
            if self.sent is not None:
                self.sent(r.due_at, sent_at)
            return {**base, "state": "sent", "sent_at": sent_at}
        attempts += 1
        error = "; ".join(errors)[:2000]
        if attempts > len(RETRY):
            log.error("reminder failed, giving up", extra={"key": r.key, "error": error})
            return {**base, "state": "failed", "attempts": attempts, "last_error": error}
        log.warning("reminder delivery failed, will retry",
                    extra={"key": r.key, "attempt": attempts, "error": error})
        return {**base, "state": "claimed", "attempts": attempts, "last_error": error,
                "next_attempt_at": now + timedelta(seconds=RETRY[attempts - 1])}

    def _to_sinks(self, alert: Alert, done: list[str]) -> tuple[list[str], list[str]]:
        errors = []
        for sink in self.sinks:
            if sink.name in done:
                continue
            try:
                sink.deliver(alert)
            except Exception as e:  # a sink's failure must not stop the others or the loop
                errors.append(f"{sink.name}: {type(e).__name__}: {e}")
            else:
                done.append(sink.name)
        return done, errors

    def resume(self) -> int:
        """Deliver reminders claimed but not finished (a crash, or a failed try now due)."""
        now = self.clock.now()
        outcomes = []
        for u in self.store.unfinished(now):
            outcome = self._deliver_one(_reminder(u, now), u.sinks_done, u.attempts, now,
                                        redelivery=True)
            if outcome is not None:
                outcomes.append(outcome)
        self.store.finish(outcomes)
        return len(outcomes)


def _reminder(u: Unfinished, now: datetime) -> Reminder:
    priority = Priority.parse(u.threshold.partition("-")[0])
    return Reminder(u.key, u.ticket_id, u.clock, priority, u.threshold, u.repeat, u.kind,
                    u.due_at, u.due_at, now, 0)
