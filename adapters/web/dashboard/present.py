"""What the dashboard's templates show of a ticket, a clock and a queue entry: instants in the
policy's zone to the minute, working time as ``7h59m``. Plain values only: the templates
escape every one of them (a client's subject is text, never markup)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot import readable
from bot.clocks import ClockState, ClockStatus
from bot.mail.quotes import strip_quoted
from bot.model import EventKind, Message
from bot.queue import QueueEntry
from bot.views import TicketView


@dataclass(frozen=True)
class ClockLine:
    name: str
    status: str
    target: str
    used: str
    left: str
    due: str
    stopped: str
    explain: Sequence[str] = ()
    """How the due instant is counted from now (``sla explain``), for a clock counting."""


@dataclass(frozen=True)
class EventLine:
    at: str
    kind: str
    actor: str
    detail: str


@dataclass(frozen=True)
class MessageLine:
    direction: str
    at: str
    sender: str
    subject: str
    text: str
    """The message without its quoted history and signature."""
    full: str
    """The whole text, when the quoted history was folded away (else empty)."""
    attachments: Sequence[str] = field(default_factory=tuple)


def _dur(d: timedelta) -> str:
    return readable.duration(d)


def clock_line(c: ClockState, view: TicketView) -> ClockLine:
    tz = view.policy.calendar.tz
    steps: list[str] = []
    if c.running and not c.breached and c.left > timedelta(0):
        ex = view.policy.calendar.explain(view.now, c.left)
        steps = [f"from now ({readable.when(view.now, tz)}), {_dur(c.left)} of working time "
                 "left:", *(s.text + (f" ({_dur(s.counted)})" if s.counted else "")
                   for s in ex.steps),
                 f"due {readable.when(ex.due, tz)}"]
    return ClockLine(c.name, c.status.value, _dur(c.target), _dur(c.used),
                     _dur(c.left) if c.status != ClockStatus.NOT_STARTED else "-",
                     readable.when(c.due, tz), readable.when(c.stopped_at, tz), tuple(steps))


def event_line(e: Any, view: TicketView) -> EventLine:
    tz = view.policy.calendar.tz
    detail = ", ".join(f"{k}={readable.value(v, tz)}" for k, v in e.data.items()
                       if k not in ("reasons", "rules", "attachments"))
    return EventLine(readable.when(e.at, tz), str(e.kind), e.actor, detail)


def classification(view: TicketView) -> tuple[str, Sequence[str]]:
    """The classifier's last word on the priority: a summary and its reasons."""
    e = next((e for e in reversed(view.ticket.events) if e.kind == EventKind.PRIORITY_SET
              and e.actor == "classifier"), None)
    if e is None:
        return "", ()
    return (f"classified {e.data.get('priority')} (confidence {e.data.get('confidence')})",
            tuple(str(r) for r in e.data.get("reasons", [])))


def _attachments(view: TicketView) -> dict[str, list[str]]:
    """Message id -> its attachments as listed in the event log."""
    out: dict[str, list[str]] = {}
    for e in view.ticket.events:
        mid = e.data.get("message_id")
        for a in e.data.get("attachments", []) or []:
            if isinstance(a, dict) and mid:
                size = a.get("size")
                note = f", skipped: {a['skipped']}" if a.get("skipped") else ""
                out.setdefault(str(mid), []).append(
                    f"{a.get('filename') or '(no name)'} ({a.get('content_type')}, "
                    f"{size} bytes{note})")
    return out


def message_lines(messages: Sequence[Message], view: TicketView) -> list[MessageLine]:
    tz = view.policy.calendar.tz
    files = _attachments(view)
    lines = []
    for m in sorted(messages, key=lambda m: m.at):
        short = strip_quoted(m.text)
        lines.append(MessageLine(m.direction, readable.when(m.at, tz), m.sender or "",
                                 m.subject or "", short, m.text if short != m.text.strip()
                                 else "", tuple(files.get(m.message_id, ()))))
    return lines


@dataclass(frozen=True)
class QueueLine:
    reference: str
    subject: str
    client: str
    priority: str
    status: str
    channel: str
    assignee: str
    requester: str
    urgency: str
    clock: str
    left: str
    due: str


def queue_line(e: QueueEntry) -> QueueLine:
    v, t, c = e.view, e.view.ticket, e.clock
    tz = v.policy.calendar.tz
    return QueueLine(t.reference, t.subject, t.client_name or "-", t.priority.value,
                     t.status.value, t.channel.value, t.assignee or "", t.requester or "",
                     e.urgency.value, c.name if c else "", _dur(c.left) if c else "",
                     readable.when(c.due, tz, year=False) if c and c.due else "")
