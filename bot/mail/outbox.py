"""Queueing a mail to the client: into the outbox, recorded on the ticket once."""

from __future__ import annotations

from datetime import datetime

from bot.model import OutboundMail
from bot.ports import UnitOfWork
from bot.ticket import Ticket


def queue_mail(uow: UnitOfWork, ticket: Ticket, mail: OutboundMail, at: datetime) -> bool:
    """Add ``mail`` to the outbox and record ``mail_sent`` on ``ticket``; nothing when the
    outbox has that mail already (the same key: a retry). True if it was queued now."""
    if not uow.outbox.add(mail, at=at):
        return False
    ticket.mail_sent(purpose=mail.purpose, to=mail.recipients, message_id=mail.message_id,
                     now=at)
    return True
