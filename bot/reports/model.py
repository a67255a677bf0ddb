"""A report sent to a client for approval, as it is stored, with the client's answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class SentReport:
    client_id: int
    client: str
    period_first: date
    period_last: date
    policy_version: str
    content_sha256: str
    message_id: str
    recipients: tuple[str, ...]
    sent_at: datetime
    due_at: datetime
    state: str = "sent"  # as recorded: sent, accepted, challenged
    decided_at: datetime | None = None
    decided_by: str = ""
    note: str = ""
    figures: str = ""
    """The invoice figures as sent (JSON of ``bot.reports.invoices.figures``); empty for a
    report sent before they were kept."""
    id: int | None = None

    def state_at(self, now: datetime) -> str:
        """``accepted``, ``challenged``, ``accepted automatically`` or ``sent``."""
        if self.state != "sent":
            return self.state
        return "accepted automatically" if now > self.due_at else "sent"

    @property
    def period(self) -> str:
        return f"{self.period_first.isoformat()}/{self.period_last.isoformat()}"
