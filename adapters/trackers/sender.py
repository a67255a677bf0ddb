"""Delivering queued tracker work (kind ``tracker`` of the one outbox) to each client's tracker.

A row is claimed before the call and recorded after it (``adapters.outbox.delivery``). A
``create`` first looks for an item already carrying the reference (``find``), so a create cut
off after the tracker made the item, a restart or a second instance never makes a second one;
the link is written in the transaction that records the row sent. Work on an item not created
yet waits (retried, not failed). An outage (no answer, 5xx, 429) retries with backoff and
shows on ``/healthz``; a permanent refusal (401, 403, 404, an unknown priority) fails the row
at once and is told once, as a note on the ticket (so in triage), and kept on the link.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from adapters.outbox.delivery import Failure, Outbox, RetryPolicy
from adapters.storage import UnitOfWorks
from adapters.storage.outbox import OutboxItem
from adapters.storage.trackers import KIND, TrackerLinks
from adapters.trackers.api import TrackerApi, TrackerError
from adapters.web.reach import Reachability
from bot.clock import Clock
from bot.errors import SupportbotError
from bot.model import reference_of
from bot.services import Helpdesk
from bot.tracker.item import item_text
from bot.tracker.mirror import MARK

log = logging.getLogger("supportbot.trackers")

BACKOFF = (5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
POLICY = RetryPolicy(BACKOFF, timedelta(minutes=5))


class NotYet(Exception):
    """The work needs the item, which is not created yet."""


@dataclass
class Done:
    """What a delivery changes on the link, written with the row's ``sent``."""

    write: Callable[[TrackerLinks], None] | None = None


class TrackerSender:
    def __init__(self, uow: UnitOfWorks, clock: Clock, apis: Mapping[str, TrackerApi],
                 helpdesk: Helpdesk, *, labels: Mapping[str, str] | None = None,
                 link_base: str | None = None, interval: float = 2.0,
                 policy: RetryPolicy = POLICY) -> None:
        """``apis``: client -> its tracker; ``labels``: client -> its breached label;
        ``link_base``: the ticket pages' URL, the reference appended (None: no link)."""
        self.uow = uow
        self.clock = clock
        self.apis = dict(apis)
        self.labels = dict(labels or {})
        self.helpdesk = helpdesk
        self.link_base = link_base
        self.interval = interval
        self.outbox = Outbox(uow.db, clock, KIND, policy)
        self.reach = {c: Reachability(f"{a.kind} of {c}") for c, a in self.apis.items()}
        self.sent = 0
        self.failures = 0
        self.created = 0
        self.found = 0
        """Creates that made the item, and that found it made already."""
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Deliver soon; safe to call from any thread."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def send_due(self, limit: int = 50) -> int:
        """Deliver what is due now (blocks); returns how many rows were sent."""
        sent = 0
        while True:
            due = self.outbox.due(limit)
            for row_id in due:
                item = self.outbox.claim(row_id)
                if item is not None:
                    sent += self.deliver(item)
            if len(due) < limit:
                return sent

    def deliver(self, item: OutboxItem) -> int:
        api = self.apis.get(item.channel)
        failure: Failure | None = None
        done = Done()
        if api is None:
            failure = Failure(f"client {item.channel!r} has no tracker configured now",
                              permanent=True)
        else:
            try:
                done = self._do(api, item)
                self.reach[item.channel].succeeded()
            except NotYet as e:
                failure = Failure(str(e))
            except TrackerError as e:
                failure = Failure(str(e), permanent=e.permanent, wait=e.wait)
                if e.permanent:
                    self.reach[item.channel].succeeded()  # it answered: the API is there
                else:
                    self.reach[item.channel].failed(str(e))

        def also(s: Session) -> None:
            if done.write is not None:
                done.write(TrackerLinks(s))

        state = self.outbox.record(item, failure, also)
        if failure is None:
            self.sent += 1
            return 1
        self.failures += 1
        log.warning("tracker work not delivered", extra={
            "row": item.id, "action": item.purpose, "client": item.channel,
            "ticket": reference_of(item.ticket_id) if item.ticket_id else "-",
            "error": failure.error, "state": state})
        if state == "failed" and item.ticket_id is not None:
            self._refused(item, api.kind if api else "tracker", failure.error)
        return 0

    # -- one piece of work ------------------------------------------------------------------

    def _do(self, api: TrackerApi, item: OutboxItem) -> Done:
        assert item.ticket_id is not None
        tid, client, now = item.ticket_id, item.channel, self.clock.now()
        with self.uow.reader() as uow:
            link = TrackerLinks(uow.session).get(tid)
        if item.purpose == "create":
            if link is not None and link.key:
                return Done()
            view = self.helpdesk.show(reference_of(tid))
            found = api.find(view.reference)
            if found is None:
                url = f"{self.link_base}{view.reference}" if self.link_base else None
                found = api.create(item_text(view, url))
                self.created += 1
            else:
                self.found += 1
            t = view.ticket
            if t.status.value != "new":  # made late (a sync, an outage): where it stands
                api.move(found.key, t.status.value)
            return Done(lambda links: links.linked(
                tid, api.kind, client, found.key, found.url, state=t.status.value,
                priority=t.priority.value, at=now))
        if link is None or not link.key:
            if link is not None and link.error:
                raise TrackerError(f"the item was never created: {link.error}",
                                   permanent=True)
            raise NotYet("the item is not created yet")
        key, data = link.key, item.payload
        if item.purpose == "comment":
            api.comment(key, str(data["text"]))
        elif item.purpose == "state":
            if link.state != data["state"]:
                api.move(key, str(data["state"]))
            return Done(lambda links: links.mirrored(tid, now, state=str(data["state"])))
        elif item.purpose == "priority":
            api.set_priority(key, str(data["priority"]))
            return Done(lambda links: links.mirrored(tid, now,
                                                     priority=str(data["priority"])))
        elif item.purpose == "due":
            nxt = self.helpdesk.show(reference_of(tid)).next_due()
            api.set_due(key, nxt.due if nxt else None)
        elif item.purpose == "label":
            api.add_label(key, self.labels.get(client, "sla-breached"))
        else:
            raise TrackerError(f"unknown tracker work {item.purpose!r}", permanent=True)
        return Done(lambda links: links.mirrored(tid, now))

    def _refused(self, item: OutboxItem, kind: str, error: str) -> None:
        """One readable error on the ticket (a note, so triage hears of it), kept on the
        link; a second refusal while the first stands is only logged."""
        assert item.ticket_id is not None
        now = self.clock.now()
        with self.uow() as uow:
            links = TrackerLinks(uow.session)
            link = links.get(item.ticket_id)
            first = link is None or not link.error
            links.refused(item.ticket_id, kind, item.channel, error, now)
            uow.commit()
        if not first:
            return
        text = (f"{MARK} {kind.capitalize()} refused the ticket's {item.purpose}: {error}. "
                f"Fix it there, then `supportbot outbox retry {item.id}`.")
        with contextlib.suppress(SupportbotError):  # a ticket closed since: the log has it
            self.helpdesk.note(reference_of(item.ticket_id), text, actor="supportbot",
                               tracker=kind)

    async def run(self) -> None:
        """Deliver until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while True:
            try:
                await asyncio.to_thread(self.send_due)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("tracker sender run failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
