"""Store raw, then process: the mechanism every intake of one ``kind`` uses."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.storage import SqlUnitOfWork, UnitOfWorks
from adapters.storage.inbox import Attempts, InboxItem, InboxStore
from bot.clock import Clock

log = logging.getLogger("supportbot.inbox")


@dataclass(frozen=True)
class Decision:
    """What a stored input turned out to mean: ``done``, ``ignored``, ``duplicate`` or
    ``quarantined``, with a readable reason, the ticket it went to and that ticket's
    reference (for the log)."""

    state: str
    reason: str = ""
    ticket_id: int | None = None
    reference: str | None = None


Decide = Callable[[SqlUnitOfWork, InboxItem], Decision]
"""Decides, in the transaction that records the outcome, what a pending input means."""

Processed = Callable[[str, str, datetime, datetime], None]
"""Told of an input processed: its channel, its new state, when it was stored and when
processed (``supportbot run`` observes it into ``/metrics``)."""


class Inbox:
    """The inbox rows of one ``kind``: accepted by its intake, processed by its decide."""

    def __init__(self, uow: UnitOfWorks, clock: Clock, kind: str, *,
                 channel: str | None = None, attempts: Attempts | None = None) -> None:
        """``uow``: the composition root's unit-of-work factory."""
        self.uow = uow
        self.clock = clock
        self.kind = kind
        self.channel = channel or kind
        self.attempts = attempts or Attempts()
        self.processed: Processed | None = None

    # -- before the intake says yes ------------------------------------------------------------

    def accept(self, key: str, raw: bytes, *, peer: str = "") -> tuple[int, bool]:
        """Store ``raw`` durably (committed) unless ``key`` is stored; returns (id, new).
        Blocks: run it in a thread. Raises StorageError when it cannot store."""
        with self.uow() as uow:
            found = InboxStore(uow.session).store(self.kind, key, raw, at=self.clock.now(),
                                                  channel=self.channel, peer=peer)
            uow.commit()
        return found

    # -- after ---------------------------------------------------------------------------------

    def due(self, limit: int = 100, older_than: timedelta | None = None) -> list[int]:
        """Pending ids whose next attempt has come (and stored ``older_than`` ago)."""
        now = self.clock.now()
        with self.uow(write=False) as uow:
            return InboxStore(uow.session).due(
                self.kind, now, limit, None if older_than is None else now - older_than)

    def pending(self, row_id: int) -> InboxItem | None:
        """The stored input, unless it was processed meanwhile."""
        with self.uow(write=False) as uow:
            item = InboxStore(uow.session).get(row_id)
        return item if item is not None and item.state == "pending" else None

    def apply(self, row_id: int, decide: Decide) -> Decision:
        """Decide and record in one transaction, holding the row (one processor per input).
        What ``decide`` raises is the caller's to count (``failed``)."""
        now = self.clock.now()
        with self.uow() as uow:
            store = InboxStore(uow.session)
            item = store.get(row_id, for_update=True)
            if item is None or item.state != "pending":
                return Decision(item.state if item else "done", "already processed")
            decision = decide(uow, item)
            store.finish(row_id, decision.state, at=now, reason=decision.reason,
                         ticket_id=decision.ticket_id)
            uow.commit()
        if self.processed is not None:
            self.processed(item.channel, decision.state, item.received_at, now)
        return decision

    def settle(self, row_id: int, decision: Decision) -> str:
        """Record the outcome of an input acted on outside the inbox's transaction (by a
        handler with units of work of its own, idempotent when run again after a crash);
        a row finished meanwhile stays as it is. Returns the row's state."""
        with self.uow() as uow:
            store = InboxStore(uow.session)
            item = store.get(row_id, for_update=True)
            if item is None or item.state != "pending":
                return item.state if item else "done"
            store.finish(row_id, decision.state, at=self.clock.now(), reason=decision.reason,
                         ticket_id=decision.ticket_id)
            uow.commit()
        return decision.state

    def failed(self, row_id: int, error: str) -> str:
        """Count a failed attempt (backoff, then quarantine); returns the new state."""
        with self.uow() as uow:
            state = InboxStore(uow.session).failed(row_id, error, at=self.clock.now(),
                                                   attempts=self.attempts)
            uow.commit()
        return state

    def process(self, row_id: int, decide: Decide) -> str:
        """``apply``, counting a failure; returns the input's state afterwards."""
        try:
            decision = self.apply(row_id, decide)
        except Exception as e:  # a bug or an outage: counted, retried after its backoff
            log.exception("processing %s input %s failed", self.kind, row_id)
            return self.failed(row_id, f"{type(e).__name__}: {e}")
        log.info("%s input processed", self.kind, extra={
            "inbox": row_id, "state": decision.state, "action": decision.reason,
            "ticket": decision.reference or "-"})
        return decision.state
