"""Telling the listeners of what happened to tickets in a unit of work, once.

A listener (the mail notifier, the Slack notifier, the phone desk) runs inside the change's
transaction, before the commit: what it queues (a mail, a Slack post) commits or rolls back
with the events. It never does network I/O itself. What listeners record in turn (a mail
queued, paging started) is told to all of them in the next round, so no listener's news
depends on the order listeners were added in.

A ticket imported from a mailbox's history (its ``imported`` event in the news) is told only to
the listeners that say ``outward = False`` (they send nothing: re-planning reminders); the
others (mail, Slack, paging) never hear of its registration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.model import Event, EventKind
from bot.ticket import Ticket

if TYPE_CHECKING:
    from bot.ports import UnitOfWork
    from bot.views import TicketView

MAX_TELL_ROUNDS = 8
"""How many rounds of events recorded by listeners one change may cause (a loop is a bug)."""

Listener = Callable[["UnitOfWork", "TicketView", "Sequence[Event]"], None]
"""Told of a ticket's new events inside their transaction (they carry their ids)."""


def publish(uow: UnitOfWork, listeners: Sequence[Listener],
            view_of: Callable[[Ticket], TicketView]) -> None:
    """Save what the unit of work's tickets recorded, tell every listener of it, and go on
    while the listeners record more."""
    for _round in range(MAX_TELL_ROUNDS):
        news = uow.tickets.collect_new_events()
        if not news:
            return
        for ticket, events in news:
            view = view_of(ticket)
            history = any(e.kind == EventKind.IMPORTED for e in events)
            for listener in listeners:
                if history and getattr(listener, "outward", True):
                    continue  # an imported ticket's past: nobody is told of it now
                listener(uow, view, events)
    stuck = ", ".join(t.reference for t, _ in uow.tickets.collect_new_events())
    raise RuntimeError(f"{stuck}: listeners kept recording events on each other's news for "
                       f"{MAX_TELL_ROUNDS} rounds")
