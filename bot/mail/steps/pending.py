"""The message's row, read (and locked) again: one processor per message, and a message is
processed once."""

from __future__ import annotations

from bot.mail.context import MailContext, Outcome, ref

NAME = "pending"
DESCRIPTION = "Stop unless the message is still waiting to be processed."


def run(ctx: MailContext) -> Outcome | None:
    if not ctx.read:
        ctx.item = ctx.uow.inbound.get(ctx.inbound_id, for_update=True)
        ctx.read = True
    item = ctx.item
    if item is None:
        return ctx.outcome("pending", "no such inbound message")
    if item.state != "pending":
        return ctx.outcome(item.state, "already processed", ref(item.ticket_id))
    return None
