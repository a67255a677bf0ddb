"""Reports as a service: look the client and its policy up, load the period, compute."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import cast

from bot.clock import Clock
from bot.errors import NotFound
from bot.model import EventKind
from bot.policies import PolicyBook
from bot.policy_changes import diff, policy_content
from bot.ports import MaintenanceUnitOfWork, PolicyChangeUnitOfWork, ReportingUnitOfWork
from bot.reports.compute import Report, compute_report
from bot.reports.periods import Period, parse_period
from bot.sla.policy import Policy


def loads_closed(policy: Policy) -> bool:
    """Whether a closed ticket's clocks can still run (a clock that ``closed`` does not stop),
    so storage must load closed tickets too."""
    return any(EventKind.CLOSED not in spec.stop for spec in policy.clocks.values())


class Reporting:
    def __init__(self, uow: Callable[[], ReportingUnitOfWork], clock: Clock,
                 policies: PolicyBook) -> None:
        self._uow = uow
        self.clock = clock
        self.policies = policies

    def period(self, policy: Policy, spec: str) -> Period:
        """``current``, ``previous`` or ``YYYY-MM-DD/YYYY-MM-DD`` in the policy's calendar."""
        today = self.clock.now().astimezone(policy.calendar.tz).date()
        return parse_period(spec, policy.compliance, today)

    def report(self, client: str, period: str, *,
               progress: Callable[[int, int], None] | None = None) -> Report:
        """``progress(done, total)`` is told as the period's tickets are worked through."""
        now = self.clock.now()
        with self._uow() as uow:
            c = uow.clients.get(client)
            if c is None or c.id is None:
                raise NotFound(f"no client named {client!r}")
            policy = self.policies.get(c.policy)
            p = self.period(policy, period)
            tz = policy.calendar.tz
            tickets = uow.reports.period_tickets(c.id, p.start_at(tz), p.end_at(tz),
                                                 include_closed=loads_closed(policy))
            windows = [] if policy.availability_target is None else [
                (w.start, w.end) for w in cast(MaintenanceUnitOfWork, uow).maintenance.overlapping(
                    c.name, p.start_at(tz), p.end_at(tz))]
            base = cast(PolicyChangeUnitOfWork, uow).policy_versions.last_acknowledged(c.id)
        report = compute_report(policy, c, p, tickets, now, maintenance=windows,
                                progress=progress)
        if base is None or base.version == policy.version:
            return report
        content = policy_content(policy)
        return replace(report, acknowledged_version=base.version, policy_changes=tuple(
            diff(base.content, content) if content is not None else
            ["the policy file is being changed: run the report again"]))
