"""The processing thread: turns stored inbound mail into tickets, off the intakes' hot path.

It is told of each stored message at once (``notify``); whatever was stored meanwhile is then
processed together, a batch per transaction, oldest first. It also sweeps the pending queue at
start and periodically, so messages stored before a crash, by another process (the MTA pipe),
or that failed once are processed too.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from adapters.mail.batch import BatchIntake
from bot.mail.intake import Outcome

log = logging.getLogger("supportbot.worker")


class IntakeWorker:
    def __init__(self, intake: BatchIntake, *, sweep_seconds: float = 10.0,
                 after: Callable[[Outcome], None] | None = None) -> None:
        self.intake = intake
        self.sweep_seconds = sweep_seconds
        self.after = after
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.processed = 0

    def notify(self, inbound_id: int) -> None:
        """A message was stored: process it soon."""
        self._queue.put(inbound_id)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="intake", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=60)
            self._thread = None

    def _handle(self, outcome: Outcome) -> None:
        self.processed += 1
        if self.after is not None:
            self.after(outcome)

    def _sweep(self) -> None:
        for outcome in self.intake.process_pending(limit=500):
            self._handle(outcome)

    def _drain(self) -> None:
        """Process what is pending, a batch at a time, until a batch comes back short (not cut
        short to let another writer in) or with a failure (that one waits for the next sweep:
        an outage must not burn its attempts)."""
        size = 4 * self.intake.batch_size  # several batches: parsed ahead when they are there
        while True:
            cut = self.intake.batches_cut_short
            outcomes = self.intake.process_pending(limit=size, retry_failed=False)
            for outcome in outcomes:
                if outcome.state != "pending":
                    self._handle(outcome)
            short = len(outcomes) < size and self.intake.batches_cut_short == cut
            if short or any(o.state == "pending" for o in outcomes):
                return

    def _run(self) -> None:
        try:
            self._sweep()
        except Exception:
            log.exception("sweeping pending mail failed")
        while True:
            try:
                item = self._queue.get(timeout=self.sweep_seconds)
            except queue.Empty:
                item = -1
            if item is None:
                return
            while item is not None:  # what was stored meanwhile is picked up by the batch
                try:
                    if self._queue.get_nowait() is None:
                        item = None
                except queue.Empty:
                    break
            try:
                if item == -1:
                    self._sweep()
                else:
                    self._drain()
            except Exception:
                log.exception("processing mail failed")
            if item is None:
                return
