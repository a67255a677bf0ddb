"""What the client's status page shows of one ticket: what the client may read, in their zone.

Internal notes, the event log, assignees' ids and the classification's rules never reach it:
only the reference, the subject, the status, the priority, each clock's due instant (to the
minute, in the policy's zone) and the public conversation (the report, the client's messages,
staff replies signed by name and team).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot import readable
from bot.change_requests import clock_description
from bot.clocks import ClockStatus
from bot.mail.signature import signer_name
from bot.model import EventKind, Staff, TicketStatus
from bot.views import TicketView

STATUS_WORDS = {
    TicketStatus.NEW: "registered, not answered yet",
    TicketStatus.OPEN: "being worked on",
    TicketStatus.PAUSED: "on hold",
    TicketStatus.RESOLVED: "resolved",
    TicketStatus.CLOSED: "closed",
}


@dataclass(frozen=True)
class Due:
    what: str
    state: str  # "due ...", "met", "breached ...", "not started"


@dataclass(frozen=True)
class Entry:
    """One message of the public conversation."""

    at: str
    by: str
    text: str
    ours: bool  # from the provider's team


@dataclass(frozen=True)
class StatusPage:
    reference: str
    subject: str
    status: str
    priority: str
    dues: tuple[Due, ...]
    conversation: tuple[Entry, ...]
    rating: int | None
    timezone: str
    can_write: bool


def _due(view: TicketView, name: str) -> Due:
    c = view.clocks[name]
    tz = view.policy.calendar.tz
    what = clock_description(view.policy, name)
    if c.status == ClockStatus.MET:
        return Due(what, f"met {readable.when(c.stopped_at, tz)}")
    if c.status == ClockStatus.BREACHED and not c.running:
        return Due(what, f"late, done {readable.when(c.stopped_at, tz)}")
    if c.due is not None:
        late = " (overdue)" if c.breached else ""
        return Due(what, f"due {readable.when(c.due, tz)}{late}")
    if c.status == ClockStatus.PAUSED:
        return Due(what, "on hold")
    return Due(what, "starts when the ticket reaches that stage")


def status_page(view: TicketView, staff: Iterable[Staff], team: str, *,
                can_write: bool) -> StatusPage:
    t = view.ticket
    tz = view.policy.calendar.tz
    people = list(staff)

    def at(dt: datetime) -> str:
        return readable.when(dt, tz)

    talk = [Entry(at(t.created_at), "you", t.body.strip(), False)] if t.body.strip() else []
    for e in t.events:
        if e.kind == EventKind.MESSAGE_RECEIVED and str(e.data.get("text", "")).strip():
            talk.append(Entry(at(e.at), "you", str(e.data["text"]).strip(), False))
        elif e.kind == EventKind.RESPONDED and str(e.data.get("message", "")).strip():
            name = signer_name(e.actor, people)
            by = f"{name}, {team}" if name else team
            talk.append(Entry(at(e.at), by, str(e.data["message"]).strip(), True))
        elif e.kind == EventKind.RESOLVED:
            note = str(e.data.get("note", "")).strip()
            talk.append(Entry(at(e.at), team, "Resolved." + (f" {note}" if note else ""), True))
    rated = t.rating
    return StatusPage(
        reference=t.reference, subject=t.subject, status=STATUS_WORDS[t.status],
        priority=str(t.priority), dues=tuple(_due(view, n) for n in view.clocks),
        conversation=tuple(talk), rating=int(rated.data["score"]) if rated else None,
        timezone=str(tz), can_write=can_write)
