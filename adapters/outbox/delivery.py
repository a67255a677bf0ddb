"""Claim, deliver, record: the one delivery mechanism over the outbox, for one kind.

A row is claimed (pending -> sending, in its own committed transaction) by this process's
owner (``adapters.outbox.owner``) before its sender is called, so two senders never deliver
the same row; after the answer it is marked sent, or put back with a later attempt time, or
failed once the backoff is used up or the error is permanent. A success is recorded first,
before anything else is done (``sent``: one statement, committed right after the other side
said yes).

A row found sending whose owner is gone (killed, crashed, stopped) is released at once, before
anything is claimed: it goes out again with the same payload (a mail with the same bytes, so
the same Message-ID), now, not after a timeout. Only a row whose owner still lives but has been
at it for ``stale`` (a hung process) is taken over by the timeout. Resending, not dropping, is
the chosen side: a lost acknowledgement is never found, a second one with the same Message-ID
is folded by mail clients and dropped by relays that dedupe. A row the owner had noted as
accepted (``Receipt``, SQLite's journal) is marked sent instead. So a second delivery can only
come from a process that died after the other side took the work and before it read the yes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from adapters.outbox.owner import Owner, owner_for
from adapters.storage import Database
from adapters.storage.outbox import OutboxItem, OutboxStore
from adapters.storage.writelock import WriteTurn
from bot.clock import Clock

log = logging.getLogger("supportbot.outbox")


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

    def __init__(self, db: Database, clock: Clock, kind: str, policy: RetryPolicy,
                 owner: Owner | None = None) -> None:
        self.db = db
        self.clock = clock
        self.kind = kind
        self.policy = policy
        self.owner = owner or owner_for(db)
        self._swept = False
        self.on_delivered: Callable[[str, datetime, datetime], None] | None = None
        """Told of each row sent: its kind, when it was queued and when sent (``supportbot
        run`` observes it into ``/metrics``)."""

    def due(self, limit: int = 50) -> list[int]:
        """Ids to claim now, after the rows of owners gone were released."""
        self.owner.hold()
        self.recover()
        with self.db.session() as s:
            return OutboxStore(s).due(self.kind, self.clock.now(), self.policy.stale, limit)

    def recover(self) -> list[int]:
        """Settle the rows being sent by owners that are gone: those they had noted as
        accepted are sent, the others pending again, due now. Returns the ids settled."""
        with self.db.session() as s:  # every kind: an owner's journal is one for all
            others = OutboxStore(s).claimants() - {self.owner.id}
        gone = {o: noted for o in sorted(others) if (noted := self.owner.gone(o)) is not None}
        accepted: list[int] = []
        again: list[int] = []
        if gone:
            now = self.clock.now()
            with WriteTurn(self.db), self.db.session(write=True) as s:
                store = OutboxStore(s)
                for o, noted in gone.items():
                    accepted += [i for i in sorted(noted) if store.mark_sent(i, now)]
                    again += store.release(o, now)
                s.commit()
            log.warning("outbox rows of a process that ended: those it noted as accepted are "
                        "sent, the others go again",
                        extra={"owners": ",".join(gone),
                               "accepted": ",".join(map(str, accepted)),
                               "again": ",".join(map(str, again))})
        if not self._swept or gone:  # the files of owners gone, now that they are settled
            self._swept = True
            self.owner.forget_gone(others - set(gone))
        return accepted + again

    def claim(self, row_id: int) -> OutboxItem | None:
        with WriteTurn(self.db), self.db.session(write=True) as s:
            item = OutboxStore(s).claim(row_id, self.clock.now(), self.policy.stale,
                                        self.owner.id)
            s.commit()
        return item

    def sent(self, item: OutboxItem) -> None:
        """Record a delivery the other side accepted: the first thing done after its yes."""
        self.receipt(item).accepted()

    def receipt(self, item: OutboxItem) -> Receipt:
        return Receipt(self, item)

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
        if state == "sent":
            self.delivered(item, now)
        return state

    def delivered(self, item: OutboxItem, at: datetime) -> None:
        """Tell ``on_delivered`` of a row recorded as sent."""
        if self.on_delivered is not None:
            self.on_delivered(self.kind, item.created_at, at)


class Receipt:
    """The record that the other side accepted ``item``, made ready before it answers and
    written the instant it says yes, so that a kill in between is as unlikely as it can be.

    PostgreSQL: ``ready`` runs the update to ``sent`` in an open transaction (a lock on that
    row only), ``accepted`` commits it: one message to the server. SQLite: holding its one
    write lock while the relay thinks would stall every other writer, so ``accepted`` first
    notes the row in the owner's journal (one ``write``), then commits ``sent``.
    """

    def __init__(self, outbox: Outbox, item: OutboxItem) -> None:
        self.outbox = outbox
        self.item = item
        self._session: Session | None = None

    def ready(self) -> None:
        db = self.outbox.db
        if db.dialect == "postgresql" and self._session is None:
            self._session = db.session(write=True)
            OutboxStore(self._session).mark_sent(self.item.id, self.outbox.clock.now())

    def accepted(self) -> None:
        if self._session is not None:
            self._session.commit()
            self.close()
        else:
            owner, db = self.outbox.owner, self.outbox.db
            owner.note(self.item.id)
            with WriteTurn(db), db.session(write=True) as s:
                OutboxStore(s).mark_sent(self.item.id, self.outbox.clock.now())
                s.commit()
            owner.forget()
        self.outbox.delivered(self.item, self.outbox.clock.now())

    def close(self) -> None:
        """Drop what ``ready`` prepared, unless it was committed."""
        if self._session is not None:
            self._session.close()
            self._session = None
