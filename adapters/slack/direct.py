"""Direct messages to the bot (``message.im``): from a client's contact they are that client's
tickets; anyone else gets a short help answer, once a day, through the outbox.

A contact is a Slack user listed in a client's ``slack_users``, or one whose Slack profile
mail address (``users:read.email``) is one of a client's ``emails`` or ``email_domains``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.storage import SqlUnitOfWork
from bot.model import Client


def help_text(support_address: str | None = None) -> str:
    """The short answer to a direct message from someone who is no client's contact."""
    mail = f"mail {support_address}" if support_address else "mail support"
    return ("Hello! I am the support bot. I open tickets for our clients' contacts, and I do not "
            "know your Slack account as one, so this message is not a ticket. To report an "
            f"incident, write in your company's support channel or {mail}; ask us to add your "
            "Slack account to your company's contacts to report here. Staff: `/ticket help`.")


def is_direct(ev: dict[str, Any]) -> bool:
    """A message in a direct conversation with the bot."""
    return ev.get("channel_type") == "im" or str(ev.get("channel", "")).startswith("D")


def contact_client(uow: SqlUnitOfWork, user: str, email: str | None) -> Client | None:
    """The client whose contact ``user`` is (by Slack id, else by profile mail address)."""
    clients = uow.clients.list()
    found = next((c for c in clients if user in c.slack_users), None)
    if found is None and email:
        found = uow.clients.for_address(email)
    return found


def help_answer(uow: SqlUnitOfWork, channel: str, user: str, now: datetime,
                support_address: str | None = None) -> bool:
    """Queue the help answer in the conversation; False if that person had it today."""
    return uow.slack.queue("reply", key=f"dm-help:{user}:{now.date().isoformat()}",
                           channel=channel, at=now, payload={"text": help_text(support_address)})
