"""Which ticket a mail continues."""

from __future__ import annotations

from bot.mail.context import MailContext, Outcome, may_see
from bot.mail.threading import reference_tokens, thread_keys
from bot.model import id_of_reference
from bot.ticket import Ticket

NAME = "thread"
DESCRIPTION = ("Find the ticket the mail continues: by its references, else by [T-1042] in "
               "the subject when the sender may see that ticket.")


def run(ctx: MailContext) -> Outcome | None:
    ctx.ticket = _ticket(ctx)
    return None


def _ticket(ctx: MailContext) -> Ticket | None:
    uow, mail = ctx.uow, ctx.parsed
    tid = uow.messages.ticket_of(list(thread_keys(mail)))
    if tid is not None:
        return uow.tickets.get(tid, for_update=True)
    for token in reference_tokens(mail.subject):
        try:
            t = uow.tickets.get(id_of_reference(token), for_update=True)
        except ValueError:
            continue
        if t is not None and may_see(t, ctx.sender, ctx.client):
            return t
    return None
