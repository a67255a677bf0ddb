"""What ``/metrics`` reads from the database at scrape time (``adapters/metrics.py`` says why):
intake and queue depths, open tickets and their clocks, and the age of the oldest outbox row
still to send, per kind. Read at scrape time because another process (the MTA pipe, the CLI,
a second instance) may have put it there."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import func
from sqlmodel import col, select

from adapters.storage import Database
from adapters.storage.tables import InboundRow, OutboxRow
from adapters.web.open_tickets import OpenTickets
from bot.clock import Clock
from bot.services import Helpdesk
from bot.views import ACTIVE

WAITING = ("pending", "sending")
"""Outbox states of a row not sent yet (and not given up)."""


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite drops the zone


def storage_metrics(db: Database, helpdesk: Helpdesk, clock: Clock,
                    open_tickets: OpenTickets | None = None) -> Iterable[Metric]:
    """Intake counts by state, queue depths, outbox age and the clock states of open
    tickets: from ``open_tickets`` (kept in memory, refreshed from the event log) when given,
    else every open ticket loaded and derived (the naive way, kept for the benchmark)."""
    with db.session() as s:
        inbound = dict(s.exec(select(InboundRow.state, func.count()).where(
            InboundRow.kind == "mail").group_by(col(InboundRow.state))).all())
        outbox = dict(s.exec(select(OutboxRow.state, func.count()).where(
            OutboxRow.kind == "mail").group_by(col(OutboxRow.state))).all())
        oldest = dict(s.exec(select(OutboxRow.kind, func.min(OutboxRow.created_at)).where(
            col(OutboxRow.state).in_(WAITING)).group_by(col(OutboxRow.kind))).all())
    g = GaugeMetricFamily("supportbot_inbound_messages",
                          "Mail accepted by the intakes, by processing state.", labels=["state"])
    for state in sorted({"pending", "done", "duplicate", "ignored", "quarantined", *inbound}):
        g.add_metric([state], inbound.get(state, 0))
    yield g
    g = GaugeMetricFamily("supportbot_queue_depth", "Work waiting: mail to process, mail to "
                          "send.", labels=["queue"])
    g.add_metric(["inbound"], inbound.get("pending", 0))
    g.add_metric(["outbox"], outbox.get("pending", 0))
    yield g
    now = clock.now()
    g = GaugeMetricFamily("supportbot_outbox_oldest_pending_seconds",
                          "Age of the oldest outbox row not sent yet, by kind (0: none).",
                          labels=["kind"])
    for kind in sorted({"mail", "slack", *oldest}):
        at = oldest.get(kind)
        g.add_metric([kind], max(0.0, (now - _utc(at)).total_seconds()) if at else 0.0)
    yield g
    if open_tickets is not None:
        n_open, counts = open_tickets.clock_counts(now)
    else:
        n_open, counts = _derived_counts(helpdesk)
    yield GaugeMetricFamily("supportbot_open_tickets", "Tickets new, open or paused.",
                            value=n_open)
    g = GaugeMetricFamily("supportbot_clocks", "Clocks of open tickets, by clock and state.",
                          labels=["clock", "status"])
    for (name, status), n in sorted(counts.items()):
        g.add_metric([name, status], n)
    yield g


def _derived_counts(helpdesk: Helpdesk) -> tuple[int, dict[tuple[str, str], int]]:
    counts: dict[tuple[str, str], int] = {}
    views = helpdesk.list(statuses=ACTIVE, limit=100_000_000)
    for v in views:
        for c in v.clocks.values():
            counts[(c.name, c.status.value)] = counts.get((c.name, c.status.value), 0) + 1
    return len(views), counts
