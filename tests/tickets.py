"""Tickets for tests, made the one way the bot makes them (``Ticket.register``)."""

from __future__ import annotations

from datetime import datetime

from bot.classify import Classification
from bot.classify.model import Reason
from bot.model import Channel
from bot.priority import Priority
from bot.ticket import Ticket


def new_ticket(*, at: datetime, subject: str = "Checkout fails", client_id: int | None = None,
               priority: Priority = Priority.P2, policy: str = "panenco",
               channel: Channel = Channel.EMAIL, requester: str | None = "jo@acme.example",
               body: str = "It fails.", actor: str = "system") -> Ticket:
    """A registered ticket at ``priority`` (as the classifier found it), not stored yet: its
    ``registered`` and ``priority_set`` events are pending."""
    found = Classification(priority, 1.0, (Reason("test", f"a test ticket at {priority}",
                                                  priority, 1.0),))
    t = Ticket.register(client=None, policy=policy, subject=subject, body=body,
                        channel=channel, requester=requester, found=found,
                        phone_followup=(), now=at, actor=actor)
    t.client_id = client_id
    return t
