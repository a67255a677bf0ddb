"""How tickets look in Slack: client text escaped once (``adapters.slack.text``), the triage
post (Block Kit) and one line per event for the triage thread."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from adapters.render import clock_line
from adapters.slack.text import escape
from bot import readable
from bot.clocks import ClockStatus
from bot.model import Event, EventKind
from bot.priority import Priority
from bot.services import TicketView


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def triage_text(view: TicketView) -> str:
    """The plain-text fallback of the triage post (notifications, screen readers)."""
    t = view.ticket
    return (f"{t.reference} {t.priority} {t.status}: {escape(_short(t.subject, 150))} "
            f"({escape(t.client_name) or 'unassigned'})")


def triage_blocks(view: TicketView) -> list[dict[str, Any]]:
    """The triage post. Its buttons' ``action_id`` is ``ticket_<name>`` (take, confirm_cause,
    resolve, reopen), their value the ticket's reference; the priority menu is
    ``ticket_priority`` with values ``T-1042:P2``."""
    t = view.ticket
    ref = t.reference
    reasons = next((e for e in reversed(t.events) if e.kind == EventKind.PRIORITY_SET), None)
    why = ""
    if reasons is not None:
        if reasons.actor == "classifier":
            why = "; ".join(str(r) for r in reasons.data.get("reasons", []))
        else:
            why = f"set by {reasons.actor}: {reasons.data.get('reason', '')}"
    lines = [
        f"*{ref}* · {escape(t.client_name) or '_unassigned_'} · *{t.priority}* · {t.status}"
        + (f" · assigned to {escape(t.assignee)}" if t.assignee else ""),
        f"*{escape(_short(t.subject, 300))}*",
    ]
    if t.body.strip():
        lines.append("> " + escape(_short(t.body, 600)))
    fields = [f"*Priority {t.priority}*: {escape(_short(why, 400)) or '-'}"]
    for c in view.clocks.values():
        fields.append(escape(clock_line(c, view)) if c.status != ClockStatus.NOT_STARTED
                      else f"{c.name}: not started")
    if t.phone_followup:
        fields.append(f"P1 phone follow-up: {t.phone_followup}")
    if t.requester:
        fields.append(f"Reported by {escape(t.requester)} via {t.channel}")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(fields)}},
    ]
    closed = t.status.value in ("resolved", "closed")
    elements: list[dict[str, Any]] = []
    if not closed:
        elements.append(_button("take", "Take it", ref))
        elements.append({
            "type": "static_select", "action_id": "ticket_priority",
            "placeholder": {"type": "plain_text", "text": "Set priority"},
            "options": [{"text": {"type": "plain_text", "text": p.value},
                         "value": f"{ref}:{p.value}"} for p in Priority],
        })
        if not any(e.kind == EventKind.CAUSE_CONFIRMED for e in t.events):
            elements.append(_button("confirm_cause", "Cause is the software", ref))
        elements.append(_button("resolve", "Resolve", ref, style="primary"))
    elif t.status.value == "resolved":
        elements.append(_button("reopen", "Reopen", ref, style="danger"))
    if elements:
        blocks.append({"type": "actions", "block_id": f"ticket:{ref}", "elements": elements})
    return blocks


def _button(name: str, label: str, ref: str, style: str | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {"type": "button", "action_id": f"ticket_{name}", "value": ref,
                         "text": {"type": "plain_text", "text": label}}
    if style:
        b["style"] = style
    return b


QUIET = frozenset({EventKind.REGISTERED})
"""Events the triage post itself shows; every other kind, including kinds added later, gets a
line in the triage thread."""


def event_line(e: Event, tz: tzinfo | None = None) -> str | None:
    """One line for the triage thread, from any event's kind and data: phone numbers grouped,
    instants in ``tz`` (the policy's zone) to the minute."""
    if e.kind in QUIET or (e.kind == EventKind.PRIORITY_SET and e.actor == "classifier"):
        return None
    what = str(e.kind).replace("_", " ")
    details = []
    for k, v in e.data.items():
        if k in ("reasons", "rules", "message_id", "attachments") or v in (None, "", [], {}):
            continue
        text = readable.value(v, tz)
        details.append(f"{k.replace('_', ' ')}: {_short(text, 300)}")
    line = f"*{escape(what)}* by {escape(e.actor)}"
    return line + ("\n" + escape("\n".join(details)) if details else "")
