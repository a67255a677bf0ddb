"""Alerts into Slack, through the one outbox: queued for the ticket's triage thread
(mentioning the assignee when the alert is for them), or for its triage channel while the
ticket has no triage post. The Slack sender posts them, with backoff, and posts the triage
message again if it was deleted. The caller records an alert before handing it over; this
only queues it, idempotent by the alert's key."""

from __future__ import annotations

from collections.abc import Callable

from adapters.slack.text import escape
from adapters.storage import SqlUnitOfWork
from bot.alerts import Alert, direct_people
from bot.clock import Clock
from bot.model import Staff


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
        """Queue the alert's posts: the triage thread's (mentioning the assignee when they are
        a target too), and a direct message to each person the alert tells directly
        (``bot.alerts.direct_people``), once each. Targets this sink cannot reach
        (``oncall``) are left to others."""
        with self._uow() as uow:
            staff = uow.staff.list()
            late = " (late: the bot was down when it was due)" if alert.late else ""
            body = (f":alarm_clock: *{alert.reference}* {alert.priority} "
                    f"{escape(alert.kind)}{late}\n{escape(alert.text)}")
            queued = self._triage(uow, alert, staff, body)
            for person in direct_people(alert, staff):
                if person.slack_user:  # a post to a user id is the bot's DM with them
                    queued |= uow.slack.queue("post", key=f"alert:{alert.key}:dm:{person.name}",
                                              channel=person.slack_user, at=self.clock.now(),
                                              ticket_id=alert.ticket_id or None,
                                              payload={"text": body})
            uow.commit()
        if queued and self.on_queued is not None:
            self.on_queued()

    def _triage(self, uow: SqlUnitOfWork, alert: Alert, staff: list[Staff], body: str) -> bool:
        if "triage" not in alert.targets:
            return False
        mention = ""
        if "assignee" in alert.targets and alert.assignee:
            user = next((s.slack_user for s in staff
                         if s.name == alert.assignee and s.slack_user), None)
            mention = f"<@{user}> " if user else ""
        thread = uow.slack.thread_of(alert.ticket_id, "triage")
        client = uow.clients.get(alert.client) if alert.client else None
        channel = thread[0] if thread else (client.triage_channel if client else None) \
            or self.default_triage_channel
        if channel is None:
            return False
        # "thread": into the triage thread (posted again if deleted); "post": the channel
        return bool(uow.slack.queue("thread" if thread else "post", key=f"alert:{alert.key}",
                                    channel=channel, at=self.clock.now(),
                                    ticket_id=alert.ticket_id or None,
                                    payload={"text": mention + body}))
