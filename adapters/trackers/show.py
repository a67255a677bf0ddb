"""A ticket's tracker item as ``tickets show`` prints it."""

from __future__ import annotations

from typing import Any

from adapters.storage import UnitOfWorks
from adapters.storage.trackers import TrackerLinks


def tracker_of(uow: UnitOfWorks, ticket_id: int | None) -> dict[str, Any] | None:
    """The ticket's item (kind, key, url, the state last mirrored, a refusal); None when the
    ticket has none (its client has no tracker)."""
    if ticket_id is None:
        return None
    with uow.reader() as u:
        link = TrackerLinks(u.session).get(ticket_id)
    if link is None:
        return None
    return {"kind": link.kind, "key": link.key, "url": link.url, "state": link.state,
            "synced_at": link.synced_at.isoformat() if link.synced_at else None,
            "error": link.error}
