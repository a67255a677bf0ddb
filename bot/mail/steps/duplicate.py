"""The same message may arrive twice, by one intake or by two (SMTP and IMAP)."""

from __future__ import annotations

from bot.mail.context import MailContext, Outcome, content_key, ref

NAME = "duplicate"
DESCRIPTION = "Stop at a message stored before: the same Message-ID and content."


def run(ctx: MailContext) -> Outcome | None:
    mail = ctx.parsed
    ctx.key = ctx.key or content_key(mail)
    seen = ctx.uow.messages.find(mail.message_id, ctx.key)
    if seen is None:
        return None
    ctx.uow.inbound.finish(ctx.inbound_id, "duplicate", at=ctx.now, ticket_id=seen.ticket_id,
                           reason=f"same message as stored message {seen.id}")
    return ctx.outcome("duplicate", "already received", ref(seen.ticket_id))
