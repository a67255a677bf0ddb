"""The Helpdesk listener that keeps Slack in step with tickets: it queues Slack work in the
ticket's own transaction (never network I/O); :mod:`adapters.slack.sender` delivers it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

from adapters.slack.format import escape, event_line
from adapters.slack.home import refresh_homes
from adapters.slack.rating import rating_blocks, resolution_text
from bot.model import Channel, Event, EventKind
from bot.phone.followup import reminder_text
from bot.ports import UnitOfWork
from bot.services import TicketView
from bot.waiting import nudge_text, unanswered_text

if TYPE_CHECKING:
    from adapters.storage.uow import SqlUnitOfWork


class SlackNotifier:
    """Queues the triage post (and its updates), a triage-thread line per notable event, and
    staff replies and late-call reminders into the client's Slack thread for tickets that came
    from Slack."""

    def __init__(self, default_triage_channel: str | None = None,
                 on_queued: Callable[[], None] | None = None,
                 phone_number: str | None = None) -> None:
        self.default_triage_channel = default_triage_channel
        self.phone_number = phone_number
        """The number a P1's client is asked to call (``mail.phone_number``)."""
        self.on_queued = on_queued
        """Called after queueing (from whatever thread acted): wakes a sender in-process."""

    def __call__(self, uow: UnitOfWork, view: TicketView, events: Sequence[Event]) -> None:
        t = view.ticket
        if t.id is None or not events:
            return
        slack = cast("SqlUnitOfWork", uow).slack
        client = uow.clients.get_by_id(t.client_id) if t.client_id else None
        triage = (client.triage_channel if client else None) or self.default_triage_channel
        at = events[-1].at
        queued = False
        if triage and (any(e.kind == EventKind.REGISTERED for e in events)
                       or slack.thread_of(t.id, "triage") is not None
                       # the first post in flight: its thread is not recorded yet
                       or slack.has_unfinished(t.id, "triage")):
            if not slack.has_pending(t.id, "triage"):  # one pending render shows the latest
                queued |= slack.queue("triage", key=f"triage:{t.id}:{events[-1].id}",
                                      channel=triage, at=at, ticket_id=t.id)
            registered = any(e.kind == EventKind.REGISTERED for e in events)
            for e in () if registered else events:  # the post itself shows a registration
                line = event_line(e, view.policy.calendar.tz)
                if line is not None:
                    queued |= slack.queue("thread", key=f"thread:{t.id}:{e.id}",
                                          channel=triage, at=at, ticket_id=t.id,
                                          payload={"text": line})
        if t.channel == Channel.SLACK:
            source = slack.thread_of(t.id, "source")
            for e in events:
                if e.kind == EventKind.RESPONDED and e.data.get("message") and source:
                    queued |= slack.queue("reply", key=f"reply:{t.id}:{e.id}",
                                          channel=source[0], at=at, ticket_id=t.id,
                                          payload={"thread_ts": source[1],
                                                   "text": escape(str(e.data["message"]))})
                elif (text := _to_client(e, view)) is not None and source:
                    # waiting for the client: the nudge, the resolution for want of an answer
                    payload = {"thread_ts": source[1], "text": escape(text)}
                    if e.kind == EventKind.RESOLVED:
                        payload["blocks"] = rating_blocks(t.id, text)
                    queued |= slack.queue("reply", key=f"waiting:{t.id}:{e.id}",
                                          channel=source[0], at=at, ticket_id=t.id,
                                          payload=payload)
                elif e.kind == EventKind.RESOLVED and source:
                    # the client hears of it where they reported, and may rate it there
                    text = resolution_text(t.reference, str(e.data.get("note", "")))
                    queued |= slack.queue("reply", key=f"resolved:{t.id}:{e.id}",
                                          channel=source[0], at=at, ticket_id=t.id,
                                          payload={"thread_ts": source[1], "text": escape(text),
                                                   "blocks": rating_blocks(t.id, text)})
                elif e.kind == EventKind.PHONE_FOLLOWUP_MISSING and source:
                    # the call is late: remind the client where they reported, as mail does
                    text = reminder_text(t.reference, self.phone_number)
                    queued |= slack.queue("reply", key=f"followup:{t.id}:{e.id}",
                                          channel=source[0], at=at, ticket_id=t.id,
                                          payload={"thread_ts": source[1],
                                                   "text": escape(text)})
        queued |= refresh_homes(slack, view, events, uow.staff.list, at)
        if queued and self.on_queued is not None:
            self.on_queued()


def _to_client(e: Event, view: TicketView) -> str | None:
    """What the client hears in their thread of a waiting ticket's own steps."""
    if e.kind == EventKind.CLIENT_NUDGED:
        return nudge_text(e, view.policy, view.reference, "Answer in this thread")
    if e.kind == EventKind.RESOLVED and e.data.get("unanswered"):
        return unanswered_text(e, view.policy, view.reference) + \
            " If it is not, tell us in this thread."
    return None
