"""Who sent the mail: the client whose contact (or domain) the sender is."""

from __future__ import annotations

from bot.mail.context import MailContext, Outcome

NAME = "client-match"
DESCRIPTION = "Find the client the sender belongs to, if any."


def run(ctx: MailContext) -> Outcome | None:
    sender = ctx.sender
    ctx.client = ctx.uow.clients.for_address(sender) if sender else None
    return None
