"""The message's row, read (and locked) again: one processor per message, and a message is
processed once."""

from __future__ import annotations

from bot.mail.context import HISTORY_CHANNEL, MailContext, Outcome, ref

NAME = "pending"
DESCRIPTION = ("Stop unless the message is still waiting to be processed; one an import "
               "stored is history.")


def run(ctx: MailContext) -> Outcome | None:
    if not ctx.read:
        ctx.item = ctx.uow.inbound.get(ctx.inbound_id, for_update=True)
        ctx.read = True
    item = ctx.item
    if item is None:
        return ctx.outcome("pending", "no such inbound message")
    if item.state != "pending":
        return ctx.outcome(item.state, "already processed", ref(item.ticket_id))
    if item.channel == HISTORY_CHANNEL:
        ctx.history = True
    return None
