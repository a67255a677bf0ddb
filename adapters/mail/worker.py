"""The processing thread: turns stored inbound mail into tickets, off the intakes' hot path.

It is told of each stored message at once (``notify``) and also sweeps the pending queue at
start and periodically, so messages stored before a crash, or by another process (the MTA pipe),
are processed too.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from bot.mail.intake import MailIntake, Outcome

log = logging.getLogger("supportbot.worker")


class IntakeWorker:
    def __init__(self, intake: MailIntake, *, sweep_seconds: float = 10.0,
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
            try:
                if item == -1:
                    self._sweep()
                else:
                    outcome = self.intake.process(item)
                    if outcome.state != "pending":
                        self._handle(outcome)
            except Exception:
                log.exception("processing mail failed")
