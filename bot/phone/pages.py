"""Starting a page: the one place that opens one for a ticket (a P1 registered or raised, a
P1's breach on the reminder ladder) and records it on the ticket."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.model import EventKind
from bot.ports import PhoneUnitOfWork
from bot.ticket import Ticket


def start_page(uow: PhoneUnitOfWork, ticket: Ticket, numbers: Sequence[str], reason: str,
               now: datetime) -> bool:
    """Open a page of ``numbers`` for ``ticket`` (the pager loop calls them) and record it on
    the ticket; nothing when one is active already. True if it started now."""
    assert ticket.id is not None
    page = uow.phone.open_page(ticket.id, reason, numbers, now)
    if page is None:
        return False
    ticket.paging(EventKind.PAGE_STARTED, now=now, data={
        "page": page.id, "numbers": list(numbers), "reason": page.reason})
    return True
