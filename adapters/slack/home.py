"""The bot's App Home tab: the Slack user's own tickets (assigned to the staff member mapped to
them, ``staff[].slack_user``) and the at-risk queue, each with its working time left.

Published with ``views.publish`` by the Slack sender, from the one outbox: a ``home`` job per
user, queued when they open the tab (``app_home_opened``) and, once they have opened it, when
one of their tickets changes or a ticket of the at-risk queue does. While a user's job waits,
no other is queued: the one delivered renders the state of that moment, so a storm of events
publishes once. Home jobs' keys are ``home:USER:...`` (read by key range).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from adapters.slack.text import escape
from bot import readable
from bot.model import Event, EventKind, Staff, TicketStatus
from bot.services import ACTIVE, Helpdesk, TicketView

if TYPE_CHECKING:
    from adapters.storage.slack import SqlSlackRepository

HOME = "home"
"""The Slack outbox job kind; its channel is the Slack user id."""
SHOWN = 20
"""Tickets listed per section (Slack allows 100 blocks in a view)."""
CHANGES = frozenset({
    EventKind.REGISTERED, EventKind.ASSIGNED, EventKind.PRIORITY_SET, EventKind.RESPONDED,
    EventKind.CAUSE_CONFIRMED, EventKind.PAUSED, EventKind.RESUMED, EventKind.RESOLVED,
    EventKind.REOPENED, EventKind.CLOSED, EventKind.MESSAGE_RECEIVED})
"""What changes a ticket's line on a Home tab (a note or a mail sent does not)."""


def queue_home(slack: SqlSlackRepository, user: str, at: datetime) -> bool:
    """A refresh of ``user``'s Home tab (they opened it), unless one is waiting already.
    True if queued."""
    if not user or "pending" in slack.states_to(user, HOME):
        return False
    return _queue(slack, user, at)


def _queue(slack: SqlSlackRepository, user: str, at: datetime) -> bool:
    return slack.queue(HOME, key=f"{HOME}:{user}:{uuid.uuid4().hex}", channel=user, at=at)


def refresh_homes(slack: SqlSlackRepository, view: TicketView, events: Sequence[Event],
                  staff: Callable[[], Sequence[Staff]], at: datetime) -> bool:
    """Queue the Home refreshes ``events`` call for: the ticket's assignee's (and the one it
    was taken from), and while it is at risk (or was, before these events) every opened Home,
    whose at-risk queue shows it. True if any was queued."""
    if not any(e.kind in CHANGES for e in events):
        return False
    users = users_to_refresh(view, events, staff)
    at_risk = view.at_risk() or any(e.kind in (EventKind.RESPONDED, EventKind.RESOLVED,
                                               EventKind.CLOSED, EventKind.PAUSED)
                                    for e in events)
    if not users and not at_risk:
        return False
    opened = slack.channels_of(HOME)
    if at_risk:
        users |= set(opened)
    queued = False
    for user in users:
        if user in opened and not opened[user]:  # opened before, and none waiting
            queued |= _queue(slack, user, at)
    return queued


def users_to_refresh(view: TicketView, events: Sequence[Event],
                     staff: Callable[[], Sequence[Staff]]) -> set[str]:
    """The Slack users whose Home shows this ticket as theirs (its assignee, and the one it
    was taken from) when ``events`` change it."""
    if not any(e.kind in CHANGES for e in events):
        return set()
    names = {view.ticket.assignee} | {str(e.data.get("previous")) for e in events
                                      if e.kind == EventKind.ASSIGNED and e.data.get("previous")}
    if names == {None}:
        return set()
    return {s.slack_user for s in staff() if s.slack_user and s.name in names}


def _line(v: TicketView) -> str:
    t = v.ticket
    tz = v.policy.calendar.tz
    who = f"assigned to {escape(t.assignee)}" if t.assignee else "_nobody has it_"
    head = (f"*{t.reference}* · *{t.priority}* · {escape(t.client_name) or '_no client_'} · "
            f"{t.status} · {who}\n{escape(' '.join(t.subject.split())[:150])}")
    c = v.next_due()
    if c is None:
        return head + "\nno clock running"
    if c.breached:
        return head + (f"\n:red_circle: {c.name} BREACHED: was due {readable.when(c.due, tz)}, "
                       f"{readable.duration(-c.left)} of working time over")
    return head + (f"\n{c.name} due {readable.when(c.due, tz)}: "
                   f"*{readable.duration(c.left)}* of working time left")


def _urgency(v: TicketView) -> tuple[int, datetime]:
    """Tickets with a running clock first, soonest due first."""
    c = v.next_due()
    return (0, c.due) if c is not None and c.due is not None else (1, v.now)


def _section(title: str, views: Sequence[TicketView], empty: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "header",
                                     "text": {"type": "plain_text", "text": title}}]
    if not views:
        return [*blocks, {"type": "section", "text": {"type": "mrkdwn", "text": empty}}]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": _line(v)}}
               for v in views[:SHOWN]]
    if len(views) > SHOWN:
        blocks.append({"type": "context", "elements": [{
            "type": "mrkdwn", "text": f"and {len(views) - SHOWN} more: `/ticket list`"}]})
    return blocks


def home_view(helpdesk: Helpdesk, staff: Staff | None, now: datetime) -> dict[str, Any]:
    """The Home tab of the staff member ``staff`` (None: a Slack user who is not staff)."""
    at_risk = helpdesk.list(statuses=ACTIVE, at_risk=True, limit=SHOWN + 1)
    if staff is None:
        mine_blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": (
            "You are not mapped to a staff member (`staff[].slack_user` in the bot's "
            "settings), so no tickets are yours here.")}}]
    else:
        mine = helpdesk.list(statuses=(TicketStatus.NEW, TicketStatus.OPEN,
                                       TicketStatus.PAUSED), assignee=staff.name, limit=200)
        mine.sort(key=_urgency)
        mine_blocks = _section(f"Your tickets ({len(mine)})", mine,
                               "Nothing is assigned to you.")
    tz = helpdesk.policies.get(None).calendar.tz
    blocks = [*mine_blocks, {"type": "divider"},
              *_section("At risk", at_risk, "No ticket is at risk."),
              {"type": "context", "elements": [{"type": "mrkdwn", "text": (
                  f"As of {readable.when(now, tz)}; working time left counts each "
                  "ticket's policy working hours.")}]}]
    return {"type": "home", "blocks": blocks}
