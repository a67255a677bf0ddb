"""Change requests: tickets of kind ``change_request`` run one clock of their own, the answer
due within the policy's ``change_request_response`` (``10wd``: by the close of the tenth working
day after the day it was filed), instead of the incident clocks with P1-P4 targets.

The working-day deadline is turned into the working time between registration and that close,
so the clock runs on the ordinary engine: it stops at the first response (or closing), and
pauses and priority changes behave as for any clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.clocks import ClockState, derive_clocks
from bot.model import Event, EventKind
from bot.priority import Priority
from bot.sla.policy import ClockSpec, Policy
from bot.ticket import Ticket

CHANGE_REQUEST = "change_request"
KINDS = ("incident", CHANGE_REQUEST)
CLOCK = "change_response"  # bot.sla.loader.CHANGE_CLOCK gives it reminder rules
DEADLINE = "change_request_response"


def change_request_spec(policy: Policy, registered_at: datetime) -> ClockSpec | None:
    """The answer clock of a change request filed at ``registered_at``; None when the policy
    sets no such deadline (its tickets then run the ordinary clocks)."""
    target = policy.deadlines.get(DEADLINE)
    if target is None:
        return None
    cal = policy.calendar
    working = cal.working_time(registered_at, cal.due(registered_at, target))
    response = policy.clocks.get("response")
    return ClockSpec(
        name=CLOCK, description=f"Answer to a change request, within {target}",
        start=frozenset({EventKind.REGISTERED}),
        stop=frozenset({EventKind.RESPONDED, EventKind.CLOSED}),
        pause=response.pause if response else frozenset(),
        resume=response.resume if response else frozenset(),
        targets={p: working for p in Priority})


def clock_specs(policy: Policy, kind: str, registered_at: datetime) -> Mapping[str, ClockSpec]:
    """The clocks a ticket of ``kind`` registered at ``registered_at`` runs, by name: the one
    place that knows a change request runs its answer clock instead of the policy's clocks.
    Everything that derives, plans or reports a ticket's clocks starts here."""
    if kind == CHANGE_REQUEST:
        spec = change_request_spec(policy, registered_at)
        if spec is not None:
            return {CLOCK: spec}
    return policy.clocks


def ticket_clocks(policy: Policy, ticket: Ticket, now: datetime, *,
                  events: Sequence[Event] | None = None,
                  priority: Priority | None = None) -> dict[str, ClockState]:
    """Every clock of ``ticket`` at ``now`` (from ``events``, default all of the ticket's, at
    ``priority``, default its current one), as ``clock_specs`` says."""
    evs = ticket.events if events is None else events
    specs = clock_specs(policy, ticket.kind, ticket.created_at)
    return derive_clocks(specs, policy, priority or ticket.priority, evs, now)


def clock_spec(policy: Policy, kind: str, registered_at: datetime, name: str) -> ClockSpec:
    """Clock ``name`` of a ticket of ``kind``; a KeyError naming the clocks it has otherwise."""
    specs = clock_specs(policy, kind, registered_at)
    try:
        return specs[name]
    except KeyError:
        raise KeyError(f"a {kind} of policy {policy.name} has no clock {name!r} "
                       f"(it has: {', '.join(specs)})") from None


def clock_description(policy: Policy, name: str) -> str:
    """What a clock of a ticket under ``policy`` measures, in words (any clock a ticket runs)."""
    if name == CLOCK and name not in policy.clocks:
        return f"Answer to the change request, within {policy.deadlines.get(DEADLINE)}"
    return policy.clock(name).description or name
