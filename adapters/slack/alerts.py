"""Alerts into Slack: posted in the ticket's triage thread (mentioning the assignee when the
alert is for them), or in its triage channel when that post was deleted. The caller records
an alert before handing it over; this only delivers."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from adapters.slack.format import escape
from adapters.slack.sender import GONE
from adapters.storage import SqlUnitOfWork
from bot.alerts import Alert


class SlackAlertSink:
    name = "slack"

    def __init__(self, read: Callable[[], SqlUnitOfWork], token: str, base_url: str,
                 default_triage_channel: str | None = None) -> None:
        self._read = read
        self.client = WebClient(token=token, base_url=base_url)
        self.default_triage_channel = default_triage_channel

    def deliver(self, alert: Alert) -> None:
        """Post the alert; blocks. Raises (``SlackApiError``, ``OSError``) when it cannot, so
        the caller retries. Targets this sink cannot reach (``oncall``) are left to others."""
        mention = ""
        if "assignee" in alert.targets and alert.assignee:
            with self._read() as uow:
                user = next((s.slack_user for s in uow.staff.list()
                             if s.name == alert.assignee and s.slack_user), None)
            mention = f"<@{user}> " if user else ""
        if "triage" not in alert.targets and not mention:
            return
        with self._read() as uow:
            thread = uow.slack.thread_of(alert.ticket_id, "triage")
            client = uow.clients.get(alert.client) if alert.client else None
        channel = thread[0] if thread else (client.triage_channel if client else None) \
            or self.default_triage_channel
        if channel is None:
            return
        late = " (late: the bot was down when it was due)" if alert.late else ""
        text = (f"{mention}:alarm_clock: *{alert.reference}* {alert.priority} "
                f"{escape(alert.kind)}{late}\n{escape(alert.text)}")
        if thread is not None:
            try:
                self.client.chat_postMessage(channel=channel, thread_ts=thread[1], text=text,
                                             unfurl_links=False)
                return
            except SlackApiError as e:
                if e.response is None or e.response.get("error") not in GONE:
                    raise
            # the triage post was deleted in Slack: the alert goes to its channel instead
        self.client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
