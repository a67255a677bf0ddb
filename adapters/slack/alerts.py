"""Alerts into Slack, through the one outbox: queued for the ticket's triage thread
(mentioning the assignee when the alert is for them), or for its triage channel while the
ticket has no triage post. The Slack sender posts them, with backoff, and posts the triage
message again if it was deleted. The caller records an alert before handing it over; this
only queues it, idempotent by the alert's key."""

from __future__ import annotations

from collections.abc import Callable

from adapters.slack.text import escape
from adapters.storage import SqlUnitOfWork
from bot.alerts import Alert
from bot.clock import Clock


class SlackAlertSink:
    name = "slack"

    def __init__(self, uow: Callable[[], SqlUnitOfWork], clock: Clock,
                 default_triage_channel: str | None = None,
                 on_queued: Callable[[], None] | None = None) -> None:
        self._uow = uow
        self.clock = clock
        self.default_triage_channel = default_triage_channel
        self.on_queued = on_queued

    def deliver(self, alert: Alert) -> None:
        """Queue the alert's post. Targets this sink cannot reach (``oncall``) are left to
        others; an alert with no triage target and nobody to mention is not Slack's."""
        with self._uow() as uow:
            mention = ""
            if "assignee" in alert.targets and alert.assignee:
                user = next((s.slack_user for s in uow.staff.list()
                             if s.name == alert.assignee and s.slack_user), None)
                mention = f"<@{user}> " if user else ""
            if "triage" not in alert.targets and not mention:
                return
            thread = uow.slack.thread_of(alert.ticket_id, "triage")
            client = uow.clients.get(alert.client) if alert.client else None
            channel = thread[0] if thread else (client.triage_channel if client else None) \
                or self.default_triage_channel
            if channel is None:
                return
            late = " (late: the bot was down when it was due)" if alert.late else ""
            text = (f"{mention}:alarm_clock: *{alert.reference}* {alert.priority} "
                    f"{escape(alert.kind)}{late}\n{escape(alert.text)}")
            # "thread": into the triage thread (posted again if deleted); "post": the channel
            queued = uow.slack.queue("thread" if thread else "post", key=f"alert:{alert.key}",
                                     channel=channel, at=self.clock.now(),
                                     ticket_id=alert.ticket_id or None,
                                     payload={"text": text})
            uow.commit()
        if queued and self.on_queued is not None:
            self.on_queued()
