"""A new report: a ticket, classified (and taken for a change request when it asks for one)
by the helpdesk."""

from __future__ import annotations

from bot.mail.context import MailContext, Outcome, details
from bot.model import Channel, TicketStatus

NAME = "register"
DESCRIPTION = ("Register a ticket from the mail (noting the closed ticket it follows, if "
               "any) and keep the mail with it.")


def run(ctx: MailContext) -> Outcome | None:
    mail, sender, closed = ctx.parsed, ctx.sender, ctx.ticket
    # the whole text: a new report is often a forward, which looks like quoted history
    body = mail.text
    if closed is not None:  # closed, or resolved longer ago than the reopen window
        body = f"(follow-up to {closed.status} ticket {closed.reference})\n\n{body}"
    ctx.view = ctx.helpdesk.register_in(
        ctx.uow, subject=mail.subject, body=body, client=ctx.client, channel=Channel.EMAIL,
        requester=sender or None, headers=mail.headers, actor=sender or "mail",
        details=details(mail), at=ctx.now)
    assert ctx.view.ticket.id is not None
    ctx.store(ctx.view.ticket.id)
    if ctx.history and ctx.item is not None:  # the instant it was stored: the import's
        ctx.view.ticket.imported(ctx.item.peer or ctx.item.channel, actor="import",
                                 now=ctx.item.received_at)
    if closed is not None and closed.status == TicketStatus.RESOLVED:
        ref = ctx.view.reference
        closed.note(f"the client wrote again after the reopen window: registered as {ref}",
                    actor="mail", now=ctx.now, follow_up=ref)
    ctx.action = "registered"
    return None
