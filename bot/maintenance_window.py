"""A maintenance window as it is stored: what was announced, to whom, and when the clients
were told that it started and ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class MaintenanceWindow:
    key: str
    start: datetime
    end: datetime
    summary: str
    clients: tuple[str, ...]
    """The clients told, by name, fixed when it was announced."""
    announced_at: datetime
    announced_by: str
    hotfix: bool = False
    release_notes: str = ""
    started_told_at: datetime | None = None
    ended_told_at: datetime | None = None
    id: int | None = None

    def state_at(self, now: datetime) -> str:
        """``scheduled``, ``in progress`` or ``ended``."""
        if now >= self.end:
            return "ended"
        return "in progress" if now >= self.start else "scheduled"

    def overlap(self, a: datetime, b: datetime) -> timedelta:
        """How much of ``[a, b)`` this window covers."""
        return max(timedelta(0), min(b, self.end) - max(a, self.start))
