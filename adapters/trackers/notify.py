"""The Helpdesk listener that queues tracker work (kind ``tracker`` of the one outbox) in the
ticket's own transaction, and the alert sink that queues the "breached" label."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, cast

from adapters.storage.trackers import TrackerLinks
from bot.alerts import Alert
from bot.clock import Clock
from bot.model import Event
from bot.ports import UnitOfWork
from bot.tracker.mirror import breached, ops_for

if TYPE_CHECKING:
    from adapters.storage.uow import SqlUnitOfWork
    from bot.views import TicketView


class TrackerNotifier:
    """Queues, for tickets of clients with a tracker (``kinds``: client -> kind), the work
    their new events call for (:func:`bot.tracker.mirror.ops_for`), once per event."""

    def __init__(self, kinds: Mapping[str, str],
                 on_queued: Callable[[], None] | None = None) -> None:
        self.kinds = dict(kinds)
        self.on_queued = on_queued

    def __call__(self, uow: UnitOfWork, view: TicketView, events: Sequence[Event]) -> None:
        t = view.ticket
        if t.id is None or not events or t.client_name not in self.kinds:
            return
        links = TrackerLinks(cast("SqlUnitOfWork", uow).session)
        queued = False
        for op in ops_for(events, t.status.value):
            queued |= links.queue(t.id, t.client_name, op.action, op.key, events[-1].at,
                                  op.data)
        if queued and self.on_queued is not None:
            self.on_queued()


class TrackerBreachSink:
    """Alerts: a clock's breach puts the "breached" label on the ticket's item (once per
    clock: the outbox dedupes on it)."""

    name = "tracker"

    def __init__(self, uow: Callable[[], SqlUnitOfWork], clock: Clock,
                 kinds: Mapping[str, str], on_queued: Callable[[], None] | None = None
                 ) -> None:
        self._uow = uow
        self.clock = clock
        self.kinds = dict(kinds)
        self.on_queued = on_queued

    def deliver(self, alert: Alert) -> None:
        if alert.kind != "breach" or alert.client not in self.kinds:
            return
        op = breached(alert.ticket_id, alert.clock or "sla")
        with self._uow() as uow:
            queued = TrackerLinks(uow.session).queue(alert.ticket_id, alert.client, op.action,
                                                     op.key, self.clock.now(), op.data)
            uow.commit()
        if queued and self.on_queued is not None:
            self.on_queued()
