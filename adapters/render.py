"""How tickets and clocks look on a terminal and in JSON."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot import readable
from bot.clocks import ClockState, ClockStatus
from bot.readable import duration as format_duration
from bot.views import TicketView


def local(dt: datetime | None, view: TicketView) -> str:
    """``dt`` in the ticket's policy zone, to the minute."""
    return readable.when(dt, view.policy.calendar.tz)


def clock_line(c: ClockState, view: TicketView) -> str:
    target = format_duration(c.target)
    if c.status == ClockStatus.NOT_STARTED:
        return f"{c.name}: not started (target {target})"
    if c.status == ClockStatus.MET:
        return (f"{c.name}: met at {local(c.stopped_at, view)} "
                f"({format_duration(c.used)} of {target} used)")
    if c.status == ClockStatus.PAUSED:
        return f"{c.name}: paused, {format_duration(c.left)} of {target} left"
    if c.status == ClockStatus.BREACHED:
        over = c.used - c.target
        when = "stopped" if c.stopped_at else "still running"
        late = f", {format_duration(over)} working time over" if over > timedelta(0) else ""
        return f"{c.name}: BREACHED, was due {local(c.due, view)} ({when}{late})"
    return (f"{c.name}: due {local(c.due, view)}, in {format_duration(c.left)} working time "
            f"(target {target})")


def ticket_text(view: TicketView) -> str:
    t = view.ticket
    lines = [
        f"{t.reference}  {t.subject}",
        f"  client:   {t.client_name or '(unassigned)'}   policy: {view.policy.name} "
        f"({view.policy.version})",
        f"  priority: {t.priority}   status: {t.status}   kind: {t.kind}   channel: {t.channel}",
        f"  opened:   {local(t.created_at, view)}"
        + (f"   by {t.requester}" if t.requester else ""),
    ]
    if t.assignee:
        lines.append(f"  assignee: {t.assignee}")
    if t.phone_followup:
        lines.append(f"  phone follow-up: {t.phone_followup}")
    if (since := t.waiting_since) is not None:
        lines.append(f"  waiting for the client since {local(since.at, view)}: "
                     f"{since.data.get('reason', '')}")
    lines.append("  clocks:")
    lines += [f"    {clock_line(c, view)}" for c in view.clocks.values()]
    reasons = next((e for e in reversed(t.events) if e.kind == "priority_set"
                    and e.actor == "classifier"), None)
    if reasons is not None:
        lines.append(f"  classified {reasons.data.get('priority')} "
                     f"(confidence {reasons.data.get('confidence')}):")
        lines += [f"    - {r}" for r in reasons.data.get("reasons", [])]
    lines.append("  events:")
    for e in t.events:
        detail = ", ".join(f"{k}={readable.value(v, view.policy.calendar.tz)}"
                           for k, v in e.data.items() if k not in ("reasons", "rules"))
        lines.append(f"    {local(e.at, view)}  {e.kind:<24} {e.actor}"
                     + (f"  ({detail})" if detail else ""))
    return "\n".join(lines)


def deadline(view: TicketView) -> str:
    """The clock that matters most now: a breached one with how late it is, else the next
    running one with its due instant and the working time left (the two differ: evenings,
    weekends and holidays do not count)."""
    tz = view.policy.calendar.tz
    breached = sorted((c for c in view.clocks.values() if c.breached),
                      key=lambda c: (not c.running, c.due or view.now))
    if breached:
        c = breached[0]
        over = c.used - c.target
        late = f", {format_duration(over)} working time late" if over > timedelta(0) else ""
        stopped = "" if c.running else f", met late {readable.when(c.stopped_at, tz)}"
        return f"{c.name} BREACHED: due {readable.when(c.due, tz, year=False)}{late}{stopped}"
    nxt = view.next_due()
    if nxt is None:
        return "-"
    return (f"{nxt.name} due {readable.when(nxt.due, tz, year=False)} "
            f"({format_duration(nxt.left)} working time left)")


def ticket_row(view: TicketView) -> str:
    t = view.ticket
    client = t.client_name or "(unassigned)"
    return (f"{t.reference:<8} {t.priority}  {t.status:<8} {client[:16]:<16} "
            f"{t.subject[:40]:<40}  {deadline(view)}")


HEADER = f"{'TICKET':<8} PRI {'STATUS':<8} {'CLIENT':<16} {'SUBJECT':<40}  NEXT DEADLINE"


def ticket_table(views: Sequence[TicketView], *, at_risk: bool = False) -> list[str]:
    """The lines of ``tickets list``: a header, one row per ticket; with ``at_risk`` a title
    saying what the list holds first."""
    lines = []
    if at_risk:
        n = len(views)
        lines.append(f"At risk: {n} ticket{'' if n == 1 else 's'} (a running clock breached, "
                     "or less than a quarter of its target left)")
    if not views:
        return [*lines, "no tickets"]
    return [*lines, HEADER, *(ticket_row(v) for v in views)]


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def clock_json(c: ClockState, view: TicketView) -> dict[str, Any]:
    return {
        "status": c.status.value, "running": c.running,
        "target_seconds": int(c.target.total_seconds()),
        "used_seconds": int(c.used.total_seconds()), "left_seconds": int(c.left.total_seconds()),
        "started_at": _iso(c.started_at), "due": _iso(c.due),
        "due_local": _iso(c.due.astimezone(view.policy.calendar.tz)) if c.due else None,
        "stopped_at": _iso(c.stopped_at),
    }


def ticket_json(view: TicketView) -> dict[str, Any]:
    t = view.ticket
    return {
        "reference": t.reference, "id": t.id, "client": t.client_name or None,
        "policy": view.policy.name, "policy_version": view.policy.version,
        "subject": t.subject, "priority": t.priority.value, "status": t.status.value,
        "kind": t.kind, "channel": t.channel.value, "requester": t.requester,
        "assignee": t.assignee, "created_at": _iso(t.created_at),
        "phone_followup": t.phone_followup, "hours_logged": t.time_logged_hours(),
        "waiting_since": _iso(t.waiting_since.at) if t.waiting_since else None,
        "clocks": {name: clock_json(c, view) for name, c in view.clocks.items()},
        "events": [{"kind": e.kind.value, "at": _iso(e.at), "actor": e.actor, "data": e.data}
                   for e in t.events],
        "as_of": _iso(view.now),
    }

