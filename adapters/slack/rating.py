"""Satisfaction ratings in Slack: the five buttons of a Slack ticket's resolution message in
the reporter's thread, and what pressing one does (only the reporter's press counts)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from adapters.slack.format import escape
from bot.errors import InvalidAction
from bot.mail.notify import SCORE_WORDS
from bot.model import EventKind, reference_of
from bot.services import Helpdesk

ACTION = r"^rate_[1-5]$"
"""The buttons' action ids (``rate_1`` ... ``rate_5``); their value is ``TICKET_ID:SCORE``."""


def resolution_text(ref: str, note: str) -> str:
    return f"We consider {ref} resolved." + (f" Resolution: {note}" if note else "") + \
        " If it is not, reply in this thread and it reopens."


def rating_blocks(ticket_id: int, text: str) -> list[dict[str, Any]]:
    """The resolution message: its text, then "How did we do?" with a button per score."""
    ref = reference_of(ticket_id)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(text)}},
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": f"How did we do on {ref}? (1 = very poor, "
                                             "5 = excellent)"}},
        {"type": "actions", "block_id": f"rate:{ticket_id}", "elements": [
            {"type": "button", "action_id": f"rate_{n}", "value": f"{ticket_id}:{n}",
             "text": {"type": "plain_text", "text": f"{n} {SCORE_WORDS[n]}"}}
            for n in sorted(SCORE_WORDS)]},
    ]


class SlackRating:
    def __init__(self, helpdesk: Helpdesk, rating_days: int = 30) -> None:
        self.helpdesk = helpdesk
        self.window = timedelta(days=rating_days)
        """How long after the resolution its buttons count (``client_links.rating_days``)."""

    def press(self, user: str, action: dict[str, Any]) -> str:
        """A rating button pressed by ``user``; returns the (ephemeral) answer. Raises
        InvalidAction (someone else's ticket, too late, ...) and NotFound."""
        ticket, _, score = str(action.get("value", "")).partition(":")
        if not (ticket.isdigit() and score.isdigit()):
            raise InvalidAction("that button carries no rating")
        view = self.helpdesk.show(reference_of(int(ticket)))
        t = view.ticket
        if t.requester != f"slack:{user}":
            raise InvalidAction(f"only the person who reported {t.reference} can rate it")
        resolved = t.last(EventKind.RESOLVED)
        if resolved is None or view.now - resolved.at > self.window:
            raise InvalidAction(f"{t.reference} can no longer be rated here")
        changed = self.helpdesk.rate(int(ticket), int(score), actor=f"slack:{user}",
                                     channel="slack")
        verb = "recorded" if changed else "already recorded"
        return f"Thank you: your rating of {t.reference}, {score} of 5, is {verb}. You can " \
               "change it for 7 days."
