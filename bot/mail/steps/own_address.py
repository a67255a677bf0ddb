"""Mail the bot sent to itself: a loop, kept and never answered."""

from __future__ import annotations

from bot.mail.context import MailContext, Outcome

NAME = "own-address"
DESCRIPTION = "Ignore mail from one of the bot's own addresses (a mail loop)."


def run(ctx: MailContext) -> Outcome | None:
    if ctx.sender not in ctx.policy.own_addresses:
        return None
    ctx.store(None)
    ctx.uow.inbound.finish(ctx.inbound_id, "ignored", at=ctx.now,
                           reason="sent from the bot's own address (a mail loop)")
    return ctx.outcome("ignored", "from the bot itself")
