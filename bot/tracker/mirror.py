"""Which tracker work a ticket's new events call for: one :class:`Op` per thing to mirror.

Everything is in the ticket's vocabulary (``resolved``, ``P2``); the adapter of each tracker
translates into its own (a Jira transition, a Trello list, an Asana section). Events a change
in the tracker caused (their actor is a tracker's, ``jira:alice``) are not sent back: the
tracker has them already.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.model import Event, EventKind

TRACKER_ACTORS = ("jira:", "trello:", "asana:")
"""Actor prefixes of changes made in a tracker (``TrackerChange.actor``)."""

STATE_OF: dict[EventKind, str] = {
    EventKind.PAUSED: "paused",
    EventKind.RESOLVED: "resolved",
    EventKind.REOPENED: "open",
    EventKind.CLOSED: "closed",
}
"""Events that move the item, to the ticket state they move it to."""


@dataclass(frozen=True)
class Op:
    """One piece of tracker work: ``create``, ``comment``, ``state``, ``priority``, ``due``
    or ``label``; ``key`` makes it unique per ticket (the outbox dedupes on it)."""

    action: str
    key: str
    data: dict[str, Any] = field(default_factory=dict)


def from_tracker(event: Event) -> bool:
    """The event is a tracker's change coming in (mirroring it back would echo it)."""
    return event.actor.startswith(TRACKER_ACTORS) or bool(event.data.get("tracker"))


def ops_for(events: Sequence[Event], status: str) -> list[Op]:
    """The work ``events`` (new, saved: they have ids) call for; ``status``: the ticket's
    status now (where a resume or a first response moves the item)."""
    created = next((e for e in events if e.kind == EventKind.REGISTERED), None)
    if created is not None:  # the item is made as the ticket stands: nothing else to say
        return [] if from_tracker(created) else _ops_of(created, status)
    ops: list[Op] = []
    for e in events:
        if from_tracker(e):
            continue
        ops += _ops_of(e, status)
    return ops


def _ops_of(e: Event, status: str) -> list[Op]:
    key = f"{e.kind.value}:{e.id}"
    if e.kind == EventKind.REGISTERED:
        return [Op("create", f"create:{e.ticket_id}")]
    if e.kind == EventKind.PRIORITY_SET and "previous" in e.data:
        return [Op("priority", key, {"priority": e.data["priority"],
                                     "reason": e.data.get("reason", ""), "by": e.actor})]
    if e.kind == EventKind.RESPONDED:
        ops = [Op("state", f"{key}:state", {"state": "open"})] if status == "open" else []
        if e.data.get("message"):
            ops.append(comment(key, f"Reply to the client by {e.actor}", e.data["message"]))
        return ops
    if e.kind == EventKind.NOTE:
        return [comment(key, f"Staff note by {e.actor}", str(e.data.get("text", "")))]
    if e.kind == EventKind.CAUSE_CONFIRMED:
        note = str(e.data.get("note", ""))
        return [comment(key, f"Cause confirmed by {e.actor}: the resolution clock runs",
                        note), Op("due", f"{key}:due")]
    if e.kind == EventKind.RESUMED:
        return [Op("state", key, {"state": "open" if status == "open" else "new"})]
    if e.kind in STATE_OF:
        return [Op("state", key, {"state": STATE_OF[e.kind]})]
    return []


def comment(key: str, heading: str, text: str) -> Op:
    """A comment marked as the bot's (``[supportbot] heading``), so that it is told apart
    from people's comments, and never taken back as a note when the webhook returns it."""
    body = f"{MARK} {heading}" + (f"\n\n{text.strip()}" if text.strip() else "")
    return Op("comment", key, {"text": body})


MARK = "[supportbot]"
"""What every comment the bot writes in a tracker starts with."""


def breached(ticket_id: int, clock: str) -> Op:
    """The "breached" label, once per clock."""
    return Op("label", f"breach:{ticket_id}:{clock}", {"label": "breached", "clock": clock})
