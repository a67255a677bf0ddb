"""The batch runner: a backlog of stored mail through the chain, several messages per
transaction, fast.

Each message is parsed before the transaction (ahead, by a parser process, when there is one);
inside it the batch's rows are read (and locked) again together, what the messages will look
up is read ahead together (``adapters/mail/prefetch.py``) and their writes are held back and
sent together (``uow.write_behind``); each message runs in a savepoint of its own, so one that
fails is undone and counted (and after a few tries quarantined) alone while the others commit.
On SQLite a batch gives the only write lock way to a waiting writer after ``MIN_BEFORE_YIELD``
messages. The whole batch is handled under one snapshot of the policies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from adapters.mail.prefetch import BatchUnitOfWork, prefetch
from bot.errors import BatchAborted
from bot.mail.intake import (
    GONE,
    MAX_ATTEMPTS,
    MailIntake,
    Outcome,
    Parsed,
    content_key,
    log_outcome,
    parse_one,
)
from bot.mail.parse import Limits, ParsedMail
from bot.model import InboundItem

log = logging.getLogger("supportbot.intake")

BATCH_SIZE = 50  # messages per transaction when working through a backlog
PARSE_AHEAD_CHUNK = 10  # messages per task handed to the parser
MIN_BEFORE_YIELD = 8
"""Messages a batch processes before it gives way to a waiting writer: fewer, and the batch's
fixed cost (its reads ahead, its sends, its commit) is paid for too little work to keep up."""


class Parser(Protocol):
    """Parses messages ahead of processing, elsewhere (``adapters/mail/parsepool.py``)."""

    def submit(self, raws: list[bytes], limits: Limits) -> Callable[[], list[Parsed] | None]:
        """Start parsing; the returned call gives the results, or None when the caller had
        better parse them itself (the parser has not begun, or failed)."""
        ...


class BatchIntake:
    """Runs ``intake``'s chain over pending mail, ``batch_size`` messages per transaction."""

    def __init__(self, intake: MailIntake, uow: Callable[[], BatchUnitOfWork], *,
                 batch_size: int = BATCH_SIZE, parser: Parser | None = None) -> None:
        self.intake = intake
        self._uow = uow
        self.batch_size = max(1, batch_size)
        self.parser = parser
        """Parses the batches after the first of a backlog while this thread processes (None:
        this thread parses everything)."""
        self.yield_to: Callable[[], bool] | None = None
        """Asked between the messages of a batch: True when another writer is waiting for
        this one's transaction (SQLite has one write lock; the SMTP intake's commit, which its
        clients wait on, must not wait for a whole batch). The batch then commits what it did
        and leaves the rest pending, for the next batch."""
        self.batches_cut_short = 0
        self.processed: Callable[[str, str, datetime, datetime], None] | None = None
        """Told of each message processed by a batch: its channel, its new state, when it was
        stored and when processed (``supportbot run`` observes it into ``/metrics``)."""
        self.batches_redone = 0  # failed as a whole (storage refused a write): item by item

    def process(self, inbound_id: int) -> Outcome:
        """One message in a transaction of its own (``MailIntake.process``)."""
        return self.intake.process(inbound_id)

    def process_pending(self, limit: int = 100, *, retry_failed: bool = True) -> list[Outcome]:
        """Process up to ``limit`` pending messages, oldest first, ``batch_size`` per
        transaction; with ``retry_failed=False``, leave those that failed before (for the
        next sweep) rather than spend their attempts at the pace new mail arrives."""
        with self._uow() as uow:
            items = [i for i in uow.inbound.pending(limit if retry_failed else 2 * limit,
                                                    now=self.intake.clock.now())
                     if retry_failed or not i.attempts][:limit]
        ahead = self._parse_ahead(items)
        out: list[Outcome] = []
        k = 0
        while k < len(items):  # a batch cut short: the next one starts where it stopped
            batch = items[k:k + self.batch_size]
            done = self.process_batch(batch, parsed=[ahead(item.id) for item in batch])
            out += done
            k += max(len(done), 1)
        return out

    def _parse_ahead(self, items: Sequence[InboundItem]) -> Callable[[int], Parsed | None]:
        """With a parser and more than one batch: hand it every message but the first few
        (which this thread parses at once), in small chunks, so parsing overlaps processing.
        Returns the lookup of a message's parse by inbound id (None: parse it here)."""
        size = PARSE_AHEAD_CHUNK
        if self.parser is None or len(items) <= self.batch_size:
            return lambda _id: None
        limits = self.intake.policy.limits
        chunks: dict[int, tuple[int, int]] = {}  # inbound id -> (chunk, index in it)
        calls: list[Callable[[], list[Parsed] | None]] = []
        for c, start in enumerate(range(size, len(items), size)):
            chunk = items[start:start + size]
            calls.append(self.parser.submit([i.raw for i in chunk], limits))
            chunks.update({item.id: (c, n) for n, item in enumerate(chunk)})
        results: dict[int, list[Parsed] | None] = {}

        def lookup(inbound_id: int) -> Parsed | None:
            where = chunks.get(inbound_id)
            if where is None:
                return None
            c, n = where
            if c not in results:
                results[c] = calls[c]()
            got = results[c]
            return got[n] if got is not None else None

        return lookup

    def process_batch(self, items: Sequence[InboundItem],
                      parsed: Sequence[Parsed | None] | None = None) -> list[Outcome]:
        """``_process_batch``, telling ``processed`` of each outcome."""
        outcomes = self._process_batch(items, parsed)
        if self.processed is not None:
            now = self.intake.clock.now()
            by_id = {item.id: item for item in items}
            for o in outcomes:
                if o.inbound_id in by_id:
                    item = by_id[o.inbound_id]
                    self.processed(item.channel, o.state, item.received_at, now)
        return outcomes

    def _process_batch(self, items: Sequence[InboundItem],
                       parsed: Sequence[Parsed | None] | None = None) -> list[Outcome]:
        """Process these messages in one transaction, each in a savepoint of its own.

        Parsing happens first, outside the transaction; inside it each message's state is read
        again (another process may have taken it meanwhile), and what the messages will look
        up (stored copies, threads, recent acknowledgements) is read for all of them at once.
        Writes are held back and sent one statement per table (``uow.write_behind``), so a
        message that fails is undone alone. When ``yield_to`` says another writer waits, the
        batch stops early: fewer outcomes than items, the rest still pending. If the batch as
        a whole fails (storage down, or refusing a write it cannot pin on one message), each
        message is tried alone in a transaction of its own, so failures are counted.
        """
        intake = self.intake
        limits = intake.policy.limits
        ready = parsed if parsed is not None else [None] * len(items)
        mails = [(item, p if p is not None else parse_one(item.raw, limits))
                 for item, p in zip(items, ready, strict=True)]
        keys = {item.id: content_key(m) for item, m in mails if isinstance(m, ParsedMail)}
        services = intake.under(intake.helpdesk.policies.snapshot())
        outcomes: list[Outcome] = []
        try:
            with self._uow() as uow:
                # read (and lock) the batch's rows again in one statement, in id order; the
                # bytes are those read before (a message's raw bytes never change)
                again = uow.inbound.get_many([item.id for item in items], for_update=True,
                                             raw=False)
                current = {item.id: replace(again[item.id], raw=item.raw)
                           for item in items if item.id in again}
                with uow.write_behind():
                    prefetch(uow, [(m, keys[i.id]) for i, m in mails
                                   if isinstance(m, ParsedMail)],
                             own_addresses=intake.policy.own_addresses,
                             replies=bool(intake.replies), now=intake.clock.now())
                    for n, (item, mail) in enumerate(mails):
                        if (n >= MIN_BEFORE_YIELD and self.yield_to is not None
                                and self.yield_to()):
                            self.batches_cut_short += 1
                            break
                        try:
                            with uow.savepoint():
                                outcome = intake.handle(uow, item.id, mail,
                                                        current.get(item.id, GONE),
                                                        keys.get(item.id), services=services)
                        except BatchAborted:
                            raise
                        except Exception as e:  # only this message's writes were undone
                            log.exception("processing inbound %s failed", item.id)
                            state = uow.inbound.failed(item.id, f"{type(e).__name__}: {e}",
                                                       at=intake.clock.now(),
                                                       max_attempts=MAX_ATTEMPTS)
                            outcome = Outcome(item.id, state, f"processing failed: {e}")
                        outcomes.append(outcome)
                uow.commit()
        except Exception:
            log.exception("processing %d inbound message(s) together failed; one at a time",
                          len(items))
            self.batches_redone += 1
            return [self.process(item.id) for item in items]
        for outcome in outcomes:
            log_outcome(outcome)
        return outcomes
