"""The bot's Prometheus metrics, through prometheus-client.

Chosen: prometheus-client (the reference Python client) instead of the hand-written text it
replaces. It gives the exposition format with its escaping and ``# TYPE`` rules right,
histograms with cumulative buckets, ``_sum`` and ``_count``, and the process/platform/GC
collectors (CPU, memory, open files, Python version) for free; the text we wrote by hand had
none of those. Two kinds of metric are mixed, each where it is true:

- **Observed in this process** (histograms, counters): what happens here as it happens. The
  intake latency (stored, i.e. SMTP 250 / IMAP / pipe, to processed: ticket made or mail
  filed), the Slack acknowledgement time (request received to the answer Slack waits 3 s
  for), reminder lateness (due to delivered) and outbox delivery time (queued to sent). A
  restart starts them at zero, as Prometheus expects of counters.
- **Read at scrape time** (gauges, a custom collector per source): what sits in the database,
  so it is true whichever process put it there: intake and queue depths, open tickets and
  their clocks, the oldest pending outbox row per kind, each web component's own families.

The registry is the app's own (``CollectorRegistry``), built once per ``App`` in the
composition root (``App.metrics``): never the global default, so two apps in one test process
do not see each other's counts. It is imported only by ``supportbot run``: the command line
never pays for prometheus-client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

log = logging.getLogger("supportbot.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Source = Callable[[], Iterable[Metric]]
"""Metric families read at scrape time (``/metrics``)."""

# seconds; mail is processed within a sweep (10 s) at worst, Slack wants its answer in 3 s,
# reminders and the outbox can wait for a relay or a retry for hours
INTAKE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10)
LATENESS_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400)
DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400)


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


class _Sources(Collector):
    """The scrape-time families of every source, a failing source logged and left out."""

    def __init__(self) -> None:
        self.sources: dict[str, Source] = {}

    def collect(self) -> Iterable[Metric]:
        for name, source in list(self.sources.items()):
            try:
                families = list(source())
            except Exception:
                log.exception("metrics of %s failed", name)
                continue
            yield from families


class Metrics:
    """The app's registry and what the running parts observe into it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self._sources = _Sources()
        r.register(self._sources)
        self.intake_latency = Histogram(
            "supportbot_intake_latency_seconds",
            "From an input stored (SMTP 250, IMAP, pipe, Slack event) to processed.",
            ["channel"], buckets=INTAKE_BUCKETS, registry=r)
        self.intake_processed = Counter(
            "supportbot_intake_processed", "Inputs processed by this process, by outcome.",
            ["channel", "state"], registry=r)
        self.slack_ack = Histogram(
            "supportbot_slack_ack_seconds",
            "From a Slack request received to the answer Slack waits for (3 s at most).",
            ["route"], buckets=ACK_BUCKETS, registry=r)
        self.reminder_lateness = Histogram(
            "supportbot_reminder_lateness_seconds",
            "From a reminder's due instant to its delivery.",
            buckets=LATENESS_BUCKETS, registry=r)
        self.outbox_delivery = Histogram(
            "supportbot_outbox_delivery_seconds",
            "From an outbox row queued to sent, by kind.",
            ["kind"], buckets=DELIVERY_BUCKETS, registry=r)

    def source(self, name: str, source: Source) -> None:
        """Read ``source`` at every scrape, under ``name`` (set again: replaced)."""
        self._sources.sources[name] = source

    def processed(self, channel: str, state: str, received_at: datetime,
                  now: datetime) -> None:
        """An input left the pending state (``pending`` again: a failure, not counted)."""
        if state == "pending":
            return
        self.intake_processed.labels(channel, state).inc()
        self.intake_latency.labels(channel).observe(_seconds(received_at, now))

    def reminder_sent(self, due_at: datetime, sent_at: datetime) -> None:
        self.reminder_lateness.observe(_seconds(due_at, sent_at))

    def outbox_sent(self, kind: str, created_at: datetime, sent_at: datetime) -> None:
        self.outbox_delivery.labels(kind).observe(_seconds(created_at, sent_at))

    def text(self) -> bytes:
        """The exposition, as ``/metrics`` serves it."""
        return generate_latest(self.registry)
