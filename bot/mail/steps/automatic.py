"""Bounces, auto-replies and other automatic mail: recorded on the ticket they concern."""

from __future__ import annotations

from bot.mail.context import MailContext, Outcome
from bot.mail.threading import thread_keys

NAME = "automatic"
DESCRIPTION = ("Record automatic mail on the ticket it answers and go no further; list or "
               "bulk mail from a client's contact goes on (a report through a group or a "
               "ticketing tool).")


def run(ctx: MailContext) -> Outcome | None:
    mail, uow, now = ctx.parsed, ctx.uow, ctx.now
    auto = mail.auto
    if auto is None or (ctx.bulk and ctx.client is not None):
        return None
    refs = [*([auto.original_message_id] if auto.original_message_id else []),
            *thread_keys(mail)]
    tid = uow.messages.ticket_of(refs)
    ctx.store(tid)
    what = f"{auto.kind}: {auto.reason}"
    ref = None
    if tid is not None:
        t = uow.tickets.get(tid, for_update=True)
        if t is not None:
            ref = t.reference
            t.auto_reply_received(now=now, data={
                "kind": auto.kind, "reason": auto.reason, "from": mail.from_addr or "",
                "recipients": list(auto.original_recipients)})
    uow.inbound.finish(ctx.inbound_id, "ignored", at=now, ticket_id=tid,
                       reason=what + ("" if tid else " (no ticket matched)"))
    return ctx.outcome("ignored", f"{auto.kind} recorded" if tid else
                       f"{auto.kind}, no ticket matched", ref)
