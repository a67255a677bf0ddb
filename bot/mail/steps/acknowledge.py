"""The answer to a new ticket's reporter, or the note of why there was none."""

from __future__ import annotations

from bot.mail import compose
from bot.mail.context import MailContext, Outcome
from bot.mail.outbox import queue_mail

NAME = "acknowledge"
DESCRIPTION = ("Acknowledge the registered ticket by mail, unless the mail was imported "
               "history, list or bulk mail, the sender has no usable address or is a mail "
               "system, or reached the hourly limit; a missing acknowledgement is noted on the "
               "ticket.")


def run(ctx: MailContext) -> Outcome | None:
    view = ctx.view
    if view is None:
        return None
    uow, mail, now = ctx.uow, ctx.parsed, ctx.now
    t = view.ticket
    to = compose.safe_address(ctx.sender)
    action = ctx.action
    if ctx.history:
        action += "; not acknowledged: imported from a mailbox's history"
    elif ctx.bulk:
        action += "; not acknowledged: list or bulk mail is never answered (RFC 3834)"
    elif to is None:
        action += "; not acknowledged: no usable sender address"
    elif compose.is_mail_system(to):
        action += f"; not acknowledged: {to} is a mail-system address"
    elif not ctx.ack_allowed(to):
        action += f"; not acknowledged: {to} reached {ctx.policy.ack_limit_per_hour}/hour"
    else:
        links = ctx.policy.links
        ack = compose.acknowledgement(
            view, to=to, sender=ctx.policy.sender, in_reply_to=mail.message_id,
            references=list(mail.references), key=f"{t.reference}.{ctx.inbound_id}", at=now,
            phone_number=ctx.policy.phone_number,
            status_url=links.status_url(t.id, now) if links and t.id is not None else None)
        queue_mail(uow, t, ack, now)
        action += "; acknowledged"
    if action != "registered; acknowledged":
        t.note(action, actor="mail", now=now)
    uow.inbound.finish(ctx.inbound_id, "done", at=now, ticket_id=t.id, reason=action)
    return ctx.outcome("done", action, t.reference)
