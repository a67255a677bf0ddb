"""The queue's order: open tickets by working time left on their most urgent clock; and the
same queue from views derived earlier (``OpenTickets``' snapshots) as from views derived now."""

from __future__ import annotations

import random
from datetime import timedelta

from adapters.storage import Database, UnitOfWorks
from adapters.web.open_tickets import OpenTickets
from bot.clock import ManualClock
from bot.priority import Priority
from bot.queue import QueueFilter, Urgency, build_queue, queue_from_snapshots
from bot.services import Helpdesk
from bot.views import ACTIVE


def _seed(helpdesk: Helpdesk, clock: ManualClock, rng: random.Random, n: int) -> None:
    for i in range(n):
        v = helpdesk.register(subject=f"ticket {i}", client=rng.choice(("acme", "nightowl")),
                              priority=rng.choice(list(Priority)), reason="seed",
                              requester=f"user{i}@example.com")
        ref = v.reference
        step = rng.randrange(6)
        if step == 1:
            helpdesk.respond(ref, actor="t")
        elif step == 2:
            helpdesk.respond(ref, actor="t")
            helpdesk.confirm_cause(ref, actor="t")
        elif step == 3:
            helpdesk.pause(ref, actor="t", reason="waiting")
        elif step == 4:
            helpdesk.resolve(ref, actor="t")
        clock.advance(timedelta(minutes=rng.randrange(1, 90)))


def test_snapshots_rank_as_a_fresh_derivation_does(database: Database, helpdesk: Helpdesk,
                                                   clock: ManualClock) -> None:
    rng = random.Random(14)
    _seed(helpdesk, clock, rng, 40)
    tickets = OpenTickets(UnitOfWorks(database), clock, helpdesk.policies)
    assert len(tickets.snapshots()) == len(helpdesk.list(statuses=ACTIVE, limit=1000))
    for hours in (0, 1, 5, 20, 70):  # time passes, nothing happens: nothing is read again
        clock.advance(timedelta(hours=hours))
        reads = tickets.reads
        fresh = build_queue(helpdesk.list(statuses=ACTIVE, limit=1000), clock.now(), limit=15)
        kept = queue_from_snapshots(tickets.snapshots(), clock.now(), tickets.derive, limit=15)
        assert tickets.reads == reads
        assert [e.view.reference for e in kept.entries] == \
            [e.view.reference for e in fresh.entries]
        assert (kept.matched, kept.breached, kept.at_risk) == \
            (fresh.matched, fresh.breached, fresh.at_risk)
    assert kept.breached > 0  # the run reached breaches


def test_a_change_is_read_again_from_the_event_log(database: Database, helpdesk: Helpdesk,
                                                   clock: ManualClock) -> None:
    a = helpdesk.register(subject="a", client="acme", priority=Priority.P3, reason="t")
    b = helpdesk.register(subject="b", client="acme", priority=Priority.P3, reason="t")
    tickets = OpenTickets(UnitOfWorks(database), clock, helpdesk.policies)
    first = queue_from_snapshots(tickets.snapshots(), clock.now(), tickets.derive)
    assert [e.view.reference for e in first.entries] == [a.reference, b.reference]
    clock.advance(timedelta(minutes=5))
    helpdesk.set_priority(b.reference, Priority.P1, actor="t", reason="worse")
    helpdesk.resolve(a.reference, actor="t")
    reads = tickets.reads
    q = queue_from_snapshots(tickets.snapshots(), clock.now(), tickets.derive)
    assert [e.view.reference for e in q.entries] == [b.reference]
    assert q.entries[0].view.ticket.priority == Priority.P1
    assert tickets.reads - reads == 2  # the two that changed, not every open ticket


def test_paused_and_breached_tickets_and_the_filters(helpdesk: Helpdesk,
                                                     clock: ManualClock) -> None:
    p1 = helpdesk.register(subject="down", client="acme", priority=Priority.P1, reason="t")
    p4 = helpdesk.register(subject="typo", client="acme", priority=Priority.P4, reason="t",
                           requester="ann@acme.example")
    helpdesk.pause(p4.reference, actor="t", reason="waiting")
    clock.advance(timedelta(hours=3))  # the P1's 2h response target has passed
    q = build_queue(helpdesk.list(statuses=ACTIVE), clock.now())
    first = q.entries[0]
    assert (first.view.reference, first.urgency) == (p1.reference, Urgency.BREACHED)
    assert q.breached == 1
    only = build_queue(helpdesk.list(statuses=ACTIVE), clock.now(), QueueFilter(search="ANN"))
    assert [e.view.reference for e in only.entries] == [p4.reference]
    assert build_queue(helpdesk.list(statuses=ACTIVE), clock.now(),
                       QueueFilter(status="paused")).matched == 1


def test_kept_clock_counts_are_the_derived_ones(database: Database, helpdesk: Helpdesk,
                                                clock: ManualClock) -> None:
    """What /metrics reports from the kept snapshots, as time passes and tickets change,
    is what deriving every open ticket at the scrape gives."""
    rng = random.Random(15)
    _seed(helpdesk, clock, rng, 30)
    tickets = OpenTickets(UnitOfWorks(database), clock, helpdesk.policies)

    def derived() -> tuple[int, dict[tuple[str, str], int]]:
        counts: dict[tuple[str, str], int] = {}
        views = helpdesk.list(statuses=ACTIVE, limit=1000)
        for v in views:
            for c in v.clocks.values():
                counts[(c.name, c.status.value)] = counts.get((c.name, c.status.value), 0) + 1
        return len(views), counts
    for step in range(8):
        assert tickets.clock_counts(clock.now()) == derived(), f"step {step}"
        clock.advance(timedelta(hours=rng.choice((1, 3, 9))))
        open_refs = [v.reference for v in helpdesk.list(statuses=ACTIVE, limit=1000)]
        ref = rng.choice(open_refs)
        what = rng.randrange(4)
        if what == 0:
            helpdesk.respond(ref, actor="t")
        elif what == 1:
            helpdesk.resolve(ref, actor="t")
        elif what == 2:
            helpdesk.set_priority(ref, Priority.P1, actor="t", reason="r")
        else:
            helpdesk.note(ref, "n", actor="t")
    assert any(status == "breached" for _, status in derived()[1])
