"""A contact's ACCEPT / APPROVE / CHALLENGE reply to a report or a policy change."""

from __future__ import annotations

from bot.mail.context import MailContext, Outcome
from bot.mail.quotes import strip_quoted
from bot.mail.threading import thread_keys

NAME = "replies"
DESCRIPTION = ("Hand a client's answer to a report sent for approval or to a policy change "
               "to what it answers; an answer opens no ticket.")


def run(ctx: MailContext) -> Outcome | None:
    client, replies = ctx.client, ctx.services.replies
    if client is None:
        return None
    mail = ctx.parsed
    thread = thread_keys(mail)
    if not thread or not replies:
        return None
    text = strip_quoted(mail.text)
    for handler in replies:
        answered = handler.answer_by_mail(ctx.uow, thread, text, ctx.sender, client)
        if answered is not None:
            ctx.store(None)
            ctx.uow.inbound.finish(ctx.inbound_id, "done", at=ctx.now, reason=answered)
            return ctx.outcome("done", answered)
    return None
