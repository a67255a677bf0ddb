"""Claim, deliver, record: the one delivery mechanism over the outbox, for one kind.

A row is claimed (pending -> sending, in its own committed transaction) before its sender is
called, so two senders never deliver the same row; after the answer it is marked sent, or put
back with a later attempt time, or failed once the backoff is used up or the error is
permanent. A row left sending by a crash is taken again once it is stale: delivering again
under the same dedupe key (a mail's Message-ID) is the safer side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from adapters.storage import Database
from adapters.storage.outbox import OutboxItem, OutboxStore
from adapters.storage.writelock import WriteTurn
from bot.clock import Clock


@dataclass(frozen=True)
class RetryPolicy:
    """Seconds before each retry (after the last one: failed), and when sending is stale."""

    backoff: tuple[int, ...]
    stale: timedelta

    def next_attempt(self, attempt: int, now: datetime, *, permanent: bool = False,
                     wait: int | None = None) -> datetime | None:
        """When to try again after failed attempt number ``attempt``; None: give up."""
        if permanent or attempt > len(self.backoff):
            return None
        return now + timedelta(seconds=wait if wait is not None else self.backoff[attempt - 1])


@dataclass(frozen=True)
class Failure:
    """Why a delivery did not happen; ``wait``: seconds the other side asked for."""

    error: str
    permanent: bool = False
    wait: int | None = None


class Outbox:
    """The outbox rows of one ``kind``, as its sender works through them."""

    def __init__(self, db: Database, clock: Clock, kind: str, policy: RetryPolicy) -> None:
        self.db = db
        self.clock = clock
        self.kind = kind
        self.policy = policy
        self.sent: Callable[[str, datetime, datetime], None] | None = None
        """Told of each row sent: its kind, when it was queued and when sent (``supportbot
        run`` observes it into ``/metrics``)."""

    def due(self, limit: int = 50) -> list[int]:
        with self.db.session() as s:
            return OutboxStore(s).due(self.kind, self.clock.now(), self.policy.stale, limit)

    def claim(self, row_id: int) -> OutboxItem | None:
        with WriteTurn(self.db), self.db.session(write=True) as s:
            item = OutboxStore(s).claim(row_id, self.clock.now(), self.policy.stale)
            s.commit()
        return item

    def record(self, item: OutboxItem, failure: Failure | None,
               also: Callable[[Session], None] | None = None) -> str:
        """Record the delivery's outcome (``also`` writes what a success adds, in the same
        transaction); returns the row's new state."""
        now = self.clock.now()
        with WriteTurn(self.db), self.db.session(write=True) as s:
            store = OutboxStore(s)
            if failure is None:
                if also is not None:
                    also(s)
                store.done(item.id, now)
                state = "sent"
            else:
                at = self.policy.next_attempt(item.attempts + 1, now,
                                              permanent=failure.permanent, wait=failure.wait)
                state = store.retry(item.id, failure.error, at)
            s.commit()
        if state == "sent" and self.sent is not None:
            self.sent(self.kind, item.created_at, now)
        return state
