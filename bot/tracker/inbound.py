"""What a change made in a tracker means for its ticket, applied through the aggregate.

A webhook's change arrives translated into the ticket's vocabulary (:class:`TrackerChange`).
The no-echo rule: a value equal to the one the bot last mirrored to the item is the bot's own
change coming back, and a comment carrying the bot's mark is its own comment; neither changes
anything. What is left is applied with the tracker's user as the actor (``jira:Alice``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from bot.priority import Priority
from bot.ticket import Ticket
from bot.tracker.mirror import MARK

VENDOR_NAMES = {"jira": "Jira", "trello": "Trello", "asana": "Asana"}
DONE = frozenset({"resolved", "closed"})
OPEN = frozenset({"new", "open"})


@dataclass(frozen=True)
class TrackerChange:
    """One change in a tracker's item: a state, a priority, or a comment (any of them)."""

    kind: str
    """``jira``, ``trello`` or ``asana``."""
    key: str
    """The item's key in the tracker (``SUP-12``, a card or task id)."""
    user: str
    state: str | None = None
    priority: Priority | None = None
    comment: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.user or 'unknown'}"


@dataclass(frozen=True)
class Mirrored:
    """What the bot last put on the item (``tracker_link``): the echo to ignore."""

    state: str | None
    priority: Priority | None


def apply_change(ticket: Ticket, change: TrackerChange, mirrored: Mirrored, *, now: datetime,
                 phone_followup: Collection[Priority]) -> list[str]:
    """Apply ``change`` to ``ticket``; returns what was done, readable (empty: nothing)."""
    where = VENDOR_NAMES.get(change.kind, change.kind)
    done: list[str] = []
    if change.state is not None and change.state != mirrored.state:
        done += _state(ticket, change, where, now)
    echo = (mirrored.priority, ticket.priority)
    if change.priority is not None and change.priority not in echo and ticket.active:
        ticket.set_priority(change.priority, actor=change.actor, reason=f"changed in {where}",
                            now=now, phone_followup=phone_followup)
        done.append(f"priority {change.priority}")
    if change.comment and not change.comment.lstrip().startswith(MARK):
        ticket.note(change.comment.strip(), actor=change.actor, now=now, tracker=change.kind,
                    item=change.key)
        done.append("note")
    return done


def _state(ticket: Ticket, change: TrackerChange, where: str, now: datetime) -> list[str]:
    state = change.state
    if state in DONE and ticket.active:
        ticket.resolve(actor=change.actor, now=now, note=f"moved to done in {where}")
        return ["resolved"]
    if state in OPEN and ticket.status == "resolved":
        ticket.reopen(actor=change.actor, now=now, reason=f"moved back to open in {where}")
        return ["reopened"]
    if state == "paused" and ticket.status in ("new", "open"):
        ticket.pause(actor=change.actor, now=now, reason=f"set to waiting in {where}")
        return ["paused"]
    if state in OPEN and ticket.status == "paused":
        ticket.resume(actor=change.actor, now=now, note=f"back to open in {where}")
        return ["resumed"]
    return []
