"""Parse the message, unless it was parsed ahead; what cannot be parsed is kept raw."""

from __future__ import annotations

from bot.mail.context import MailContext, Outcome, parse_one
from bot.mail.parse import Unparseable

NAME = "unparseable"
DESCRIPTION = ("Quarantine a message that cannot be parsed, with the reason; imported history "
               "is taken at its Date from here on.")


def run(ctx: MailContext) -> Outcome | None:
    if ctx.mail is None:
        ctx.mail = parse_one(ctx.raw, ctx.policy.limits)
    if isinstance(ctx.mail, Unparseable):
        ctx.uow.inbound.finish(ctx.inbound_id, "quarantined", at=ctx.now, reason=str(ctx.mail))
        return ctx.outcome("quarantined", str(ctx.mail))
    if ctx.history and ctx.mail.date is not None:  # history happens at its date, never later
        ctx.now = min(ctx.now, ctx.mail.date)
    return None
