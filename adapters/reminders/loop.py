"""The reminder engine inside ``supportbot run``'s APScheduler ``AsyncIOScheduler``.

Two jobs: ``reminder-poll`` every ``reminders.poll_seconds`` (take or keep the scheduler lock;
pick up re-plan requests and retries; every ``scheduler.sweep_seconds`` also look for edited
policy files), and ``reminder-wakeup``, one date job at the next due instant, moved whenever
that instant changes. Both run in the scheduler's thread pool and never at the same time.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime

from apscheduler.schedulers.base import BaseScheduler

from adapters.reminders.engine import ReminderEngine
from adapters.reminders.leader import Leadership
from bot.errors import StorageError

log = logging.getLogger("supportbot.reminders")


class ReminderLoop:
    def __init__(self, engine: ReminderEngine, leadership: Leadership,
                 scheduler: BaseScheduler, *, poll_seconds: float = 1.0,
                 policy_check_seconds: float = 60.0) -> None:
        self.engine = engine
        self.leadership = leadership
        self.scheduler = scheduler
        self.poll_seconds = poll_seconds
        self.policy_check_seconds = policy_check_seconds
        self.leading = False
        self.planned = threading.Event()
        """Set once this instance leads and has rebuilt the schedule."""
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self._lock = threading.Lock()
        self._armed: datetime | None = None
        self._last_policy_check = 0.0

    def start(self) -> None:
        # two instances: one may be rebuilding while the next finds the lock taken and returns
        self.scheduler.add_job(self.poll, "interval", seconds=self.poll_seconds,
                               id="reminder-poll", next_run_time=self.engine.clock.now(),
                               max_instances=2, coalesce=True, misfire_grace_time=None)

    def stop(self) -> None:
        with self._lock:
            if self.leading:
                self.leadership.release()
                self.leading = False

    def poll(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # the rebuild or a wake-up is running: the next poll comes soon enough
        try:
            started = time.perf_counter()
            self._poll()
            log.debug("reminder poll", extra={"seconds": round(time.perf_counter() - started, 3)})
        except StorageError as e:
            log.warning("reminder scheduler: storage failed, trying again",
                        extra={"error": str(e)})
        finally:
            self._lock.release()

    def wake(self) -> None:
        with self._lock:
            self._armed = None  # a date job runs once: it is gone now
            if not self.leading:
                return
            try:
                # a burst: keep going while something is due, rather than through a new job
                started = time.perf_counter()
                while (at := self.engine.next_wakeup()) is not None and \
                        at <= self.engine.clock.now():
                    self.engine.run_due()
                log.debug("reminder wake-up",
                          extra={"seconds": round(time.perf_counter() - started, 3)})
            except StorageError as e:
                log.warning("reminder scheduler: storage failed, trying again",
                            extra={"error": str(e)})
            self._arm()

    def _poll(self) -> None:
        if not self.leading:
            if not self.leadership.acquire():
                return
            self.leading = True
            log.info("reminder scheduler leading", extra={"instance": self.instance})
            started = time.perf_counter()
            self.engine.store.take_replans()  # the rebuild covers them
            resumed = self.engine.resume()
            plan = self.engine.rebuild()
            self._last_policy_check = time.monotonic()
            self.planned.set()
            self.engine.poll(check_policies=False)  # what changed while it rebuilt
            log.info("reminders planned", extra={
                "tickets": plan.tickets, "scheduled": self.engine.scheduled(),
                "sent": plan.sent, "skipped": plan.skipped, "resumed": resumed,
                "seconds": round(time.perf_counter() - started, 3)})
        elif not self.leadership.check():
            self.leading = False
            self.planned.clear()
            self.engine.clear()
            self._disarm()
            log.warning("reminder scheduler lost its lock: standing by",
                        extra={"instance": self.instance})
            return
        else:
            check = time.monotonic() - self._last_policy_check >= self.policy_check_seconds
            if check:
                self._last_policy_check = time.monotonic()
            self.engine.poll(check_policies=check)
        self._arm()

    def _arm(self) -> None:
        at = self.engine.next_wakeup()
        if at == self._armed and (at is None or
                                  self.scheduler.get_job("reminder-wakeup") is not None):
            return
        if at is None:
            self._disarm()
            return
        # two instances: the job may be re-added from inside its own run (our lock serialises)
        self.scheduler.add_job(self.wake, "date", run_date=at, id="reminder-wakeup",
                               replace_existing=True, misfire_grace_time=None, max_instances=2)
        self._armed = at

    def _disarm(self) -> None:
        if self._armed is not None:
            try:
                self.scheduler.remove_job("reminder-wakeup")
            except Exception:  # JobLookupError: it has just run
                log.debug("no wake-up job to remove")
            self._armed = None
