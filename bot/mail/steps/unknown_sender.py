"""Mail from nobody the bot knows, when the settings say to refuse it."""

from __future__ import annotations

from bot.mail import compose
from bot.mail.context import MailContext, Outcome

NAME = "unknown-sender"
DESCRIPTION = ("With unknown_senders = \"reject\": keep mail from a sender who is no client's "
               "contact, open no ticket, and tell the sender so (within the hourly limit; "
               "never for imported history).")


def run(ctx: MailContext) -> Outcome | None:
    if ctx.client is not None or ctx.policy.unknown_senders != "reject":
        return None
    mail, now = ctx.parsed, ctx.now
    ctx.store(None)
    to = compose.safe_address(ctx.sender)
    reason = "sender is not a contact of any client"
    if ctx.history:
        reason += "; imported history: not told"
    elif to and not compose.is_mail_system(to) and ctx.ack_allowed(to):
        ctx.uow.outbox.add(compose.not_registered(
            to=to, sender=ctx.policy.sender, subject=mail.subject,
            in_reply_to=mail.message_id, key=str(ctx.inbound_id), at=now), at=now)
        reason += "; told so by mail"
    ctx.uow.inbound.finish(ctx.inbound_id, "ignored", at=now, reason=reason)
    return ctx.outcome("ignored", reason)
