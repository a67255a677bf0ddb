"""The bot's App Home tab: the Slack user's own tickets (assigned to the staff member mapped to
them, ``staff[].slack_user``) and the at-risk queue, each with its working time left.

Published with ``views.publish`` by the Slack sender, from the one outbox: a ``home`` job per
user, queued when they open the tab (``app_home_opened``) and, once they have opened it, when
one of their tickets changes or a ticket of the at-risk queue does. While a user's job waits,
no other is queued: the one delivered renders the state of that moment, so a storm of events
publishes once. Who opened their Home is kept in ``slack_home`` (migration 16), with the key of
their latest refresh, read by the outbox's unique index: each check is one row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from adapters.slack.text import escape
from bot import readable
from bot.model import Event, EventKind, Staff, TicketStatus
from bot.priority import Priority
from bot.services import Helpdesk, TicketView
from bot.views import ACTIVE

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
STOPS = frozenset({EventKind.RESPONDED, EventKind.RESOLVED, EventKind.CLOSED,
                   EventKind.PAUSED})
"""What stops or pauses clocks: a ticket close to a deadline leaves the at-risk queue by it."""
RISK_SHARE = 0.25
"""``TicketView.at_risk``'s share: less than this much of a target left is at risk."""


def queue_home(slack: SqlSlackRepository, user: str, at: datetime) -> bool:
    """``user`` opened their Home tab: publish it (unless a refresh waits already), and keep
    it current from now on. True if queued."""
    if not user:
        return False
    slack.home_opened(user, at)
    return _refresh(slack, user, slack.homes([user]).get(user, ""), at)


def refresh_homes(slack: SqlSlackRepository, view: TicketView, events: Sequence[Event],
                  staff: Callable[[], Sequence[Staff]], at: datetime) -> bool:
    """Queue the Home refreshes ``events`` call for: the ticket's assignee's (and the one it
    was taken from), and while it is at risk (or has just left the queue) every opened Home,
    whose at-risk queue shows it. Only Homes their users opened. True if any was queued."""
    if not any(e.kind in CHANGES for e in events):
        return False
    users = users_to_refresh(view, events, staff)
    at_risk = view.at_risk(RISK_SHARE) or _left_the_queue(view, events)
    if not users and not at_risk:
        return False
    opened = slack.homes(None if at_risk else users)
    queued = False
    for user in sorted(set(opened) if at_risk else users & set(opened)):
        queued |= _refresh(slack, user, opened[user], at)
    return queued


def _left_the_queue(view: TicketView, events: Sequence[Event]) -> bool:
    """Whether ``events`` may have taken the ticket out of the at-risk queue: they stopped or
    paused a clock that was close to (or past) its target, or lowered the priority of a
    ticket with a clock running."""
    if any(e.kind in STOPS for e in events) and any(
            c.started_at is not None and c.used >= c.target * (1 - RISK_SHARE)
            for c in view.clocks.values()):
        return True
    return any(e.kind == EventKind.PRIORITY_SET and _lowered(e) for e in events) and any(
        c.running for c in view.clocks.values())


def _lowered(e: Event) -> bool:
    try:
        before, now = Priority.parse(str(e.data.get("previous"))), Priority.parse(
            str(e.data.get("priority")))
    except ValueError:
        return False
    return now.rank > before.rank


def _refresh(slack: SqlSlackRepository, user: str, last_key: str, at: datetime) -> bool:
    """A refresh of ``user``'s Home unless the last one queued still waits: delivered, it
    renders the state of that moment, so it covers every change made meanwhile."""
    if last_key and slack.is_pending(last_key):
        return False
    key = f"{HOME}:{user}:{uuid.uuid4().hex}"
    slack.home_queued(user, key)
    return slack.queue(HOME, key=key, channel=user, at=at)


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
