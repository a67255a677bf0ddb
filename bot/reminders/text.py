"""The words of a reminder: what is due, when (in the contract's time zone, and as working time
left), and what stops the clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.alerts import Alert
from bot.change_requests import clock_spec
from bot.clocks import ClockState
from bot.model import EventKind
from bot.readable import duration, when
from bot.reminders.plan import Reminder
from bot.sla.policy import ClockSpec, Policy
from bot.ticket import Ticket

_STOPS = {
    EventKind.RESPONDED: "a response to the client (supportbot tickets respond {ref})",
    EventKind.RESOLVED: "resolving it (supportbot tickets resolve {ref})",
    EventKind.CLOSED: "closing it",
    EventKind.CAUSE_CONFIRMED: "confirming the cause (supportbot tickets confirm-cause {ref})",
    EventKind.PAUSED: "pausing it (supportbot tickets pause {ref} --reason ...)",
    EventKind.WAITING_FOR_CLIENT: "waiting for the client (supportbot tickets wait {ref})",
}


def _local(policy: Policy, dt: datetime | None) -> str:
    return when(dt, policy.calendar.tz)


def _what_stops(spec: ClockSpec, ref: str) -> str:
    parts = [_STOPS.get(k, k.value.replace("_", " ")).format(ref=ref)
             for k in sorted(spec.stop, key=lambda k: list(EventKind).index(k))]
    text = "Stops the clock: " + "; ".join(parts) + "."
    if spec.pause:
        pauses = ", ".join(_STOPS.get(k, k.value).format(ref=ref) for k in sorted(spec.pause))
        text += f" Stops counting while paused: {pauses}."
    return text


def build_alert(r: Reminder, ticket: Ticket, policy: Policy, state: ClockState,
                now: datetime, *, late: bool | None = None) -> Alert:
    """The alert for reminder ``r`` of ``ticket`` whose clock stands at ``state`` at ``now``.

    ``late`` None: late if it goes out more than ``LATE_AFTER`` after its time; the engine says
    True for one that was due while no scheduler ran."""
    ref = ticket.reference
    spec = clock_spec(policy, ticket.kind, ticket.created_at, r.clock)
    what = spec.description or r.clock
    who = ticket.client_name or "unassigned"
    late = r.late(now) if late is None else late
    lines = [f"{ref} ({who}, {ticket.priority}): {ticket.subject}"]
    used = state.used / state.target if state.target else 1.0
    if r.kind == "reminder":
        lines.append(f"{what} ({r.clock}) is due {_local(policy, state.due)}: "
                     f"{duration(max(state.left, timedelta(0)))} of working time left "
                     f"({used:.0%} of {duration(state.target)} used).")
    else:
        again = f" (reminder {r.repeat})" if r.repeat else ""
        lines.append(f"{what} ({r.clock}) is BREACHED{again}: it was due "
                     f"{_local(policy, state.due)}, {duration(-state.left)} of working "
                     f"time ago (target {duration(state.target)}).")
    lines.append(_what_stops(spec, ref))
    if ticket.assignee:
        lines.append(f"Assigned to {ticket.assignee}.")
    else:
        lines.append(f"Nobody is assigned (supportbot tickets assign {ref} NAME).")
    if late:
        lines.append(f"Late: this was meant to go out {_local(policy, r.due_at)}.")
    rule = policy.reminder_rule(r.clock, ticket.priority)
    assert ticket.id is not None
    return Alert(
        key=r.key, ticket_id=ticket.id, reference=ref, client=ticket.client_name,
        priority=ticket.priority, kind=r.kind, text="\n".join(lines), at=r.due_at,
        clock=r.clock, due=state.due, late=late,
        targets=rule.targets_at(r.threshold.partition("-")[2], ticket.priority),
        assignee=ticket.assignee,
        data={"threshold": r.threshold, "repeat": r.repeat, "subject": ticket.subject,
              "left_seconds": state.left.total_seconds(),
              "target_seconds": state.target.total_seconds()})
