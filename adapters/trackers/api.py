"""What the delivery asks of every tracker, and how a tracker's refusal is told apart from an
outage. Calls block: the delivery runs them in a thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.tracker.item import ItemText


@dataclass(frozen=True)
class Item:
    """A tracker's item: its key (``SUP-12``, a card id, a task gid) and its web link."""

    key: str
    url: str


class TrackerError(Exception):
    """A call refused or not answered. ``permanent``: no retry will fix it (403, a deleted
    project, an unknown priority); otherwise an outage, retried with backoff (``wait``: the
    seconds the tracker asked for)."""

    def __init__(self, message: str, *, permanent: bool = False, wait: int | None = None,
                 status: int = 0) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.wait = wait
        self.status = status
        """The HTTP status the tracker answered (0: none, it was not reached)."""


PERMANENT_STATUS = frozenset({400, 401, 403, 404, 410, 422})
"""HTTP answers that no retry changes (429 and 5xx are outages)."""


def http_error(vendor: str, status: int, detail: str, retry_after: str | None = None
               ) -> TrackerError:
    """The error of an HTTP answer ``status`` from ``vendor`` (never with a credential)."""
    wait = int(retry_after) if retry_after and retry_after.isdigit() else None
    text = f"{vendor} answered {status}" + (f": {detail.strip()[:300]}" if detail.strip() else "")
    return TrackerError(text, permanent=status in PERMANENT_STATUS, wait=wait, status=status)


def explained(e: TrackerError, vendor: str, what: str) -> TrackerError:
    """``e`` of a call about ``what`` (``project SUP``), said for a person setting it up."""
    if e.status == 401:
        return TrackerError(f"{vendor} refused the token (401): check token / token_env",
                            permanent=True, status=401)
    if e.status == 403:
        return TrackerError(f"{vendor}: the token may not see {what} (403)", permanent=True,
                            status=403)
    if e.status == 404:
        return TrackerError(f"{vendor} has no {what} (404)", permanent=True, status=404)
    return e


class TrackerApi(Protocol):
    kind: str

    def check(self) -> str:
        """Try the connection and the configuration (token, project, priorities); returns
        what was found, raises TrackerError naming what is wrong."""
        ...

    def find(self, reference: str) -> Item | None:
        """The item already carrying ``reference`` (made by an earlier try or instance)."""
        ...

    def create(self, item: ItemText) -> Item: ...

    def comment(self, key: str, text: str) -> None: ...

    def move(self, key: str, state: str) -> None:
        """To the status / list / section of ticket state ``state``."""
        ...

    def set_priority(self, key: str, priority: str) -> None: ...

    def set_due(self, key: str, due: datetime | None) -> None: ...

    def add_label(self, key: str, label: str) -> None: ...
