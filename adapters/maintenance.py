"""Maintenance notices and policy changes as periodic jobs of ``supportbot run`` (mail through
the outbox), and the Slack post of a maintenance notice in each client's triage channel
(through the Slack outbox) that the composition root gives the maintenance service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, cast

from adapters.storage import SqlUnitOfWork
from bot.maintenance import Maintenance
from bot.model import Client
from bot.policy_changes import PolicyChanges
from bot.ports import MaintenanceUnitOfWork

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger("supportbot.maintenance")
AT_INSTANT = "maintenance-at-"
"""The id prefix of the one-off job set for the next start or end notice (one id per instant:
a date job that has just fired is removed by the scheduler after it started, and must not take
the job it set for the next instant with it)."""


class SlackPost:
    """Queues a maintenance post for the client's triage channel (or the default one)."""

    def __init__(self, default_channel: str | None) -> None:
        self.default_channel = default_channel

    def __call__(self, uow: MaintenanceUnitOfWork, client: Client, key: str, text: str,
                 at: datetime) -> bool:
        channel = client.triage_channel or self.default_channel
        if not channel:
            return False
        cast(SqlUnitOfWork, uow).slack.queue("post", key=key, channel=channel, at=at,
                                             payload={"text": text})
        return True


class MaintenanceSweep:
    """The job of ``supportbot run`` that tells clients that windows started or ended. Runs in
    the scheduler's thread pool; ``after`` wakes the outbox sender when mail was queued.

    The periodic run finds new windows (announced by any process); with ``scheduler``, each
    run also sets a one-off job at the next start or end, so a notice goes out at its instant
    rather than up to a sweep later."""

    def __init__(self, service: Maintenance, after: Callable[[], None] | None = None, *,
                 scheduler: BaseScheduler | None = None) -> None:
        self.service = service
        self.after = after
        self.scheduler = scheduler

    def __call__(self) -> int:
        try:
            told = self.service.tell_due()
            for t in told:
                log.info("maintenance notice queued", extra={
                    "maintenance": t.window.key, "phase": t.phase, "late": t.late,
                    "mailed": list(t.mailed), "posted": list(t.posted),
                    "unreachable": list(t.unreachable)})
            if told and self.after is not None:
                self.after()
        finally:
            self._wake_at_next()
        return len(told)

    def _wake_at_next(self) -> None:
        if self.scheduler is None:
            return
        at = self.service.next_notice_at()
        if at is not None:  # one already set for an earlier instant finds nothing: harmless
            self.scheduler.add_job(self, "date", run_date=at, id=AT_INSTANT + at.isoformat(),
                                   replace_existing=True, misfire_grace_time=None)


class PolicyWatch:
    """The periodic job of ``supportbot run``: records changed policy files and tells the
    clients' contacts (a change needing approval waits for it)."""

    def __init__(self, service: PolicyChanges, after: Callable[[], None] | None = None) -> None:
        self.service = service
        self.after = after

    def __call__(self) -> int:
        changes = [c for c in self.service.check() if c.since is not None]
        for c in changes:
            log.info("policy changed", extra={"client": c.client, "version": c.version.version,
                                              "state": c.version.state, "mailed": c.mailed})
        if any(c.mailed for c in changes) and self.after is not None:
            self.after()
        return len(changes)
