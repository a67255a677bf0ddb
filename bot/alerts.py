"""Alerts: what a person on the provider's side must hear about a ticket, and where it goes.

The core decides *that* someone must be told (a deadline reminder, a breach, a P1 to page) and
builds an :class:`Alert`; adapters deliver it (the log, mail, a Slack thread, an SMS or a call).
An alert is recorded under its ``key`` before it is delivered, so a restart or a second instance
never delivers it twice; a sink only delivers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.model import Staff
from bot.priority import Priority


@dataclass(frozen=True)
class Alert:
    key: str
    """Unique and stable: e.g. ``T-1042/response/75%/0`` (ticket, clock, threshold, repeat)."""
    ticket_id: int
    reference: str
    client: str
    """The client's name; empty for the unassigned queue."""
    priority: Priority
    kind: str
    """``reminder``, ``breach``, ``breach-repeat``, ``page``, ``followup-missing``..."""
    text: str
    """Plain text, a few lines: what is due, when, and what stops the clock."""
    at: datetime
    """When it was meant to go out (aware UTC)."""
    clock: str | None = None
    due: datetime | None = None
    late: bool = False
    """Sent after its time (the bot was down when it was due)."""
    targets: tuple[str, ...] = ("triage",)
    """Who should hear it: ``triage`` (the client's triage channel, in the ticket's thread),
    ``assignee`` (mentioned there; told directly when triage is not a target), ``manager``
    (the staff whose role is manager, directly), ``oncall``. A sink delivers to the targets it
    can reach and ignores the rest; each person once (:func:`direct_people`)."""
    assignee: str | None = None
    data: dict[str, object] = field(default_factory=dict)


def direct_people(alert: Alert, staff: Sequence[Staff]) -> list[Staff]:
    """Whom ``alert`` tells directly (a Slack DM, a mail), each once: the assignee when the
    triage channel is not told too (there they are mentioned), and every manager."""
    out: dict[str, Staff] = {}
    if "assignee" in alert.targets and "triage" not in alert.targets and alert.assignee:
        out.update((s.name, s) for s in staff if s.name == alert.assignee)
    if "manager" in alert.targets:
        out.update((s.name, s) for s in staff if s.role == "manager")
    return list(out.values())


class AlertSink(Protocol):
    """Somewhere alerts are delivered. ``deliver`` may block (run it off the event loop) and
    raises on failure so the caller can retry."""

    name: str

    def deliver(self, alert: Alert) -> None: ...
