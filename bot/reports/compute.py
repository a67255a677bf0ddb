"""A client's SLA report for one period, computed from tickets' event logs and the policy. Pure.

Every clock of every ticket is *settled* in exactly one period, so no breach is counted twice:

- a clock that stopped in time (met) settles when it stopped;
- a breached clock settles when it became late (its due instant) under the policy's
  ``open_at_period_end = "breached-if-late-else-carried"``: a ticket still open and already late
  at a period's end counts as breached in that period. Under ``"carried"`` it settles only when
  it stops;
- a clock still running (or paused) and not late at the period's end is *carried over*: it
  settles in a later period.

The report is computed as of ``min(now, period end)``: events after that are ignored, so a past
period's report stays the same bytes whatever happens afterwards (a clock reopened later may
settle again in the period it runs late in: the report lists what each period saw). The
priority used is the ticket's priority as of that instant. Credits follow the policy's credit
rules within the period (the invoicing period): for each breach of the rule's clock on the
rule's priorities beyond the first ``free_breaches`` (in the order they settled), ``share`` of
the period's amount: the hours logged per priority times the client's rate for it, or the
client's flat ``invoice_amount`` (``bot.reports.fees``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from bot.availability import Availability, Outage, compute_availability, outage_of
from bot.change_requests import CHANGE_REQUEST, CLOCK, DEADLINE, clock_specs, ticket_clocks
from bot.clocks import ClockState, ClockStatus, derive_clock
from bot.model import Client, Event, EventKind
from bot.priority import Priority
from bot.reports.cycles import CycleLine, cycle_figures, cycle_lines, repeating_clocks
from bot.reports.fees import FLAT, FeeLine, period_fees
from bot.reports.periods import Period
from bot.reports.ratings import NO_RATINGS, Ratings, period_ratings
from bot.sla.policy import Policy
from bot.ticket import Ticket

CENT = Decimal("0.01")

RULE_TEXT = {
    "breached-if-late-else-carried":
        "Tickets still open at the end of the period count as breached when already late; "
        "the others are carried over to the period in which their clock stops.",
    "carried":
        "Tickets still open at the end of the period are carried over and counted in the "
        "period in which their clock stops.",
}


@dataclass(frozen=True)
class ClockOutcome:
    """One clock of one ticket as this period sees it."""

    clock: str
    state: ClockState
    outcome: str  # met, breached, carried, not-started, settled-before
    counted: bool  # settled in this period: it counts in this period's figures
    settled_at: datetime | None
    late: timedelta  # working time past due (0 unless breached); for open tickets: so far


@dataclass(frozen=True)
class TicketLine:
    reference: str
    kind: str
    subject: str
    priority: Priority
    registered_at: datetime
    open_at_end: bool
    clocks: dict[str, ClockOutcome]
    hours: Decimal  # logged within the period
    registered_in_period: bool


@dataclass(frozen=True)
class ClockFigures:
    met: int
    total: int
    target: float | None  # the policy's target share for this clock

    @property
    def share(self) -> float | None:
        return self.met / self.total if self.total else None

    @property
    def meets_target(self) -> bool | None:
        if self.target is None or not self.total:
            return None
        # integers only: met/total >= target, without float rounding at the boundary
        return Decimal(self.met) >= Decimal(str(self.target)) * self.total


@dataclass(frozen=True)
class PriorityFigures:
    priority: Priority
    registered: int  # tickets registered in the period
    clocks: dict[str, ClockFigures]
    hours: Decimal  # hours logged in the period at this level


@dataclass(frozen=True)
class Breach:
    reference: str
    priority: Priority
    clock: str
    due: datetime
    stopped_at: datetime | None  # None: still open at the report's instant
    late: timedelta  # working time


@dataclass(frozen=True)
class Credit:
    clock: str
    priorities: tuple[Priority, ...]
    breaches: tuple[str, ...]  # references, in the order they settled
    free: int
    charged: tuple[str, ...]
    share: Decimal  # of the invoice, for each charged breach
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class ChangeRequestLine:
    reference: str
    subject: str
    registered_at: datetime
    due: datetime
    answered_at: datetime | None
    outcome: str  # met, late, open, open-late
    late: timedelta


@dataclass(frozen=True)
class Report:
    client: str
    invoice_amount: Decimal  # the period's amount: hours x rates, or the flat fee
    currency: str
    policy_name: str
    policy_title: str
    policy_version: str
    timezone: str
    period_kind: str
    period: Period
    start: datetime
    end: datetime
    as_of: datetime
    final: bool  # the period is over: the report can no longer change
    open_rule: str
    clock_names: tuple[str, ...]
    priorities: tuple[PriorityFigures, ...]
    breaches: tuple[Breach, ...]
    credits: tuple[Credit, ...]
    carried: tuple[str, ...]  # tickets open at the report's instant with no clock running late
    tickets: tuple[TicketLine, ...]
    change_requests: tuple[ChangeRequestLine, ...]
    placeholders: tuple[str, ...]
    availability: Availability | None = None  # where the policy states a target
    acknowledged_version: str = ""  # the policy version the client last acknowledged ...
    policy_changes: tuple[str, ...] = ()  # ... and what changed since, when it differs
    billing: str = FLAT  # hourly (the client has rates) or flat (its invoice_amount)
    fees: tuple[FeeLine, ...] = ()  # hourly: hours, rate and amount per priority
    ratings: Ratings = NO_RATINGS  # the clients' satisfaction ratings given in the period
    repeating: tuple[str, ...] = ()  # repeating clocks (next response): counted per cycle
    cycles: tuple[CycleLine, ...] = ()  # their cycles settled in the period

    @property
    def compliance_names(self) -> tuple[str, ...]:
        """The clocks of the compliance figures: per ticket, then per cycle."""
        return self.clock_names + self.repeating

    @property
    def credit_total(self) -> Decimal:
        return sum((c.amount for c in self.credits), Decimal(0))


def priority_at(ticket: Ticket, events: Sequence[Event], instant: datetime) -> Priority:
    """The ticket's priority as it stood at ``instant`` (the last ``priority_set`` before it)."""
    found: Priority | None = None
    for e in events:
        if e.at > instant:
            break
        if e.kind == EventKind.PRIORITY_SET and e.data.get("priority"):
            found = Priority.parse(str(e.data["priority"]))
    return found or ticket.priority


def open_at(events: Sequence[Event], instant: datetime) -> bool:
    """Whether the ticket was still open (not resolved or closed, or reopened since)."""
    is_open = False
    for e in events:
        if e.at > instant:
            break
        if e.kind == EventKind.REGISTERED or e.kind == EventKind.REOPENED:
            is_open = True
        elif e.kind in (EventKind.RESOLVED, EventKind.CLOSED):
            is_open = False
    return is_open


def _settle(policy: Policy, state: ClockState, as_of: datetime,
            start: datetime, end: datetime) -> ClockOutcome:
    cal = policy.calendar
    rule = policy.compliance.open_at_period_end
    if state.status == ClockStatus.NOT_STARTED:
        return ClockOutcome(state.name, state, "not-started", False, None, timedelta(0))
    late = timedelta(0)
    if state.breached and state.due is not None:
        late = cal.working_time(state.due, state.stopped_at or as_of)
    if state.stopped_at is not None:
        if state.breached:
            settled = state.due if rule == "breached-if-late-else-carried" else state.stopped_at
            outcome = "breached"
        else:
            settled, outcome = state.stopped_at, "met"
    elif state.breached and rule == "breached-if-late-else-carried":
        settled, outcome = state.due, "breached"
    else:
        return ClockOutcome(state.name, state, "carried", False, None, late)
    assert settled is not None
    counted = start <= settled < end
    if not counted and settled < start:
        outcome = "settled-before"
    return ClockOutcome(state.name, state, outcome, counted, settled, late)


def _hours(events: Iterable[Event], ticket: Ticket, ordered: Sequence[Event], start: datetime,
           until: datetime) -> dict[Priority, Decimal]:
    out: dict[Priority, Decimal] = {}
    for e in events:
        if e.kind != EventKind.TIME_LOGGED or not start <= e.at < until:
            continue
        level = e.data.get("priority")
        p = Priority.parse(str(level)) if level else priority_at(ticket, ordered, e.at)
        out[p] = out.get(p, Decimal(0)) + Decimal(str(e.data.get("hours", 0)))
    return out


def _change_request(policy: Policy, t: Ticket, ordered: Sequence[Event], as_of: datetime,
                    start: datetime, end: datetime) -> ChangeRequestLine | None:
    """A change request's answer clock (``bot.change_requests``). It belongs to the period it
    was filed or answered in, and to every period it is still waiting for an answer in."""
    c = ticket_clocks(policy, t, as_of, events=ordered).get(CLOCK)
    if c is None:  # the policy sets no change-request deadline
        return None
    answered = c.stopped_at
    if not (start <= t.created_at < end or (answered is not None and start <= answered < end)
            or answered is None):
        return None
    late = timedelta(0)
    if c.breached and c.due is not None:
        late = policy.calendar.working_time(c.due, answered or as_of)
    if answered is not None:
        outcome = "late" if c.breached else "met"
    else:
        outcome = "open-late" if c.breached else "open"
    due = c.due or policy.working_day_deadline(DEADLINE, t.created_at)
    return ChangeRequestLine(t.reference, t.subject, t.created_at, due, answered, outcome, late)


def compute_report(policy: Policy, client: Client, period: Period, tickets: Iterable[Ticket],
                   now: datetime, *,
                   maintenance: Sequence[tuple[datetime, datetime]] = (),
                   progress: Callable[[int, int], None] | None = None) -> Report:
    """The report of ``client`` for ``period`` as of ``min(now, end of period)``.

    ``tickets`` must hold at least every ticket of the client with a clock that can settle in the
    period (storage loads those in bulk); others are ignored. ``maintenance``: the client's
    announced maintenance windows, left out of the availability (where the policy has a target).
    ``progress(done, total)`` is told after each ticket (a long period takes seconds).
    """
    tz = policy.calendar.tz
    start, end = period.start_at(tz), period.end_at(tz)
    as_of = min(now, end)
    names = tuple(n for n, c in policy.clocks.items() if not c.repeats)
    tickets = list(tickets)  # read twice: the clocks, then the ratings
    lines: list[TicketLine] = []
    cycles: list[CycleLine] = []
    crs: list[ChangeRequestLine] = []
    hours: dict[Priority, Decimal] = {p: Decimal(0) for p in Priority}
    outages: list[Outage] = []
    in_order = sorted(tickets, key=lambda t: (t.created_at, t.id or 0))
    for done, t in enumerate(in_order, 1):
        if progress is not None:
            progress(done, len(in_order))
        if t.created_at >= as_of:
            continue
        ordered = sorted((e for e in t.events if e.at <= as_of), key=lambda e: (e.at, e.id or 0))
        if policy.availability_target is not None and t.kind != CHANGE_REQUEST:
            o = outage_of(t, ordered, priority_at(t, ordered, as_of))
            if o is not None and o.start < as_of and (o.end is None or o.end > start):
                outages.append(o)
        if t.kind == CHANGE_REQUEST:
            cr = _change_request(policy, t, ordered, as_of, start, end)
            if cr is not None:
                crs.append(cr)
            continue
        prio = priority_at(t, ordered, as_of)
        specs = clock_specs(policy, t.kind, t.created_at)
        clocks = {n: _settle(policy, derive_clock(specs[n], policy, prio, ordered, as_of),
                             as_of, start, end) for n in names}
        cycles += cycle_lines(policy, t.reference, prio, ordered, as_of,
                              lambda s: _settle(policy, s, as_of, start, end))
        logged = _hours(ordered, t, ordered, start, as_of)
        for p, h in logged.items():
            hours[p] += h
        is_open = open_at(ordered, as_of)
        in_period = start <= t.created_at < end
        if not (in_period or logged or is_open or any(c.counted for c in clocks.values())):
            continue
        lines.append(TicketLine(t.reference, t.kind, t.subject, prio, t.created_at, is_open,
                                clocks, sum(logged.values(), Decimal(0)), in_period))
    fees = period_fees(client, hours)
    return Report(
        client=client.name, invoice_amount=fees.amount, billing=fees.billing, fees=fees.lines,
        currency=client.currency, policy_name=policy.name, policy_title=policy.title,
        policy_version=policy.version, timezone=str(tz), period_kind=policy.compliance.period,
        period=period, start=start, end=end, as_of=as_of, final=as_of >= end,
        open_rule=policy.compliance.open_at_period_end, clock_names=names,
        priorities=_figures(policy, names, lines, cycles, hours),
        breaches=_breaches(lines, cycles),
        credits=_credits(policy, client, lines, fees.amount),
        carried=tuple(t.reference for t in lines
                      if t.open_at_end and not any(c.state.breached and c.state.open
                                                   for c in t.clocks.values())),
        tickets=tuple(lines), change_requests=tuple(crs), placeholders=policy.placeholders,
        repeating=repeating_clocks(policy), cycles=tuple(cycles),
        availability=None if policy.availability_target is None else compute_availability(
            policy.availability_target, outages, maintenance, start, as_of),
        ratings=period_ratings(tickets, start, as_of),
    )


def _figures(policy: Policy, names: Sequence[str], lines: Sequence[TicketLine],
             cycles: Sequence[CycleLine],
             hours: dict[Priority, Decimal]) -> tuple[PriorityFigures, ...]:
    out = []
    for p in Priority:
        mine = [t for t in lines if t.priority == p]
        clocks = {}
        for n in names:
            counted = [t.clocks[n] for t in mine if t.clocks[n].counted]
            clocks[n] = ClockFigures(sum(c.outcome == "met" for c in counted), len(counted),
                                     policy.compliance.targets.get(n))
        for n in repeating_clocks(policy):
            clocks[n] = ClockFigures(*cycle_figures(cycles, n, p),
                                     policy.compliance.targets.get(n))
        out.append(PriorityFigures(p, sum(t.registered_in_period for t in mine), clocks,
                                   hours[p]))
    return tuple(out)


def _breaches(lines: Sequence[TicketLine], cycles: Sequence[CycleLine]) -> tuple[Breach, ...]:
    out = [Breach(c.reference, c.priority, c.clock, c.due, c.stopped_at, c.late)
           for c in cycles if c.outcome == "breached" and c.due is not None]
    for t in lines:
        for c in t.clocks.values():
            if c.counted and c.outcome == "breached":
                assert c.state.due is not None
                out.append(Breach(t.reference, t.priority, c.clock, c.state.due,
                                  c.state.stopped_at, c.late))
    return tuple(sorted(out, key=lambda b: (b.due, b.reference, b.clock)))


def _credits(policy: Policy, client: Client, lines: Sequence[TicketLine],
             invoice: Decimal) -> tuple[Credit, ...]:
    out = []
    for rule in policy.credits:
        settled = sorted(
            (c.settled_at, t.reference) for t in lines if t.priority in rule.priorities
            for c in t.clocks.values()
            if c.clock == rule.clock and c.counted and c.outcome == "breached")
        refs = tuple(r for _, r in settled)
        charged = refs[rule.free_breaches:]
        share = Decimal(str(rule.share))
        out.append(Credit(rule.clock, tuple(sorted(rule.priorities)), refs, rule.free_breaches,
                          charged, share,
                          (invoice * share * len(charged)).quantize(CENT, ROUND_HALF_UP),
                          client.currency))
    return tuple(out)
